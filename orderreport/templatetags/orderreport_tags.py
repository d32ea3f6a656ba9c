"""Template helpers shared by every dashboard page."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

# The project sub-navigation: (url name, label). A section appears once its app provides
# the URL, so apps can be added one at a time.
PROJECT_SECTIONS = [
    ("reports:overview", _("Overview")),
    ("orders:list", _("Orders")),
    ("events:records", _("Events")),
    ("projects:events", _("Event keys")),
    ("projects:domains", _("Domains")),
    ("projects:keys", _("API keys")),
    ("notify:channels", _("Notifications")),
    ("projects:integration", _("Integration")),
    ("projects:settings", _("Settings")),
]


@register.inclusion_tag("partials/project_nav.html", takes_context=True)
def project_nav(context: template.Context, project: object) -> dict[str, object]:
    current = context["request"].path
    sections = []
    for name, label in PROJECT_SECTIONS:
        try:
            url = reverse(name, args=[project.pk])  # type: ignore[attr-defined]
        except NoReverseMatch:
            continue
        sections.append({"url": url, "label": label, "active": False})
    # The overview's address (/projects/1/) starts every other section's: the longest match wins.
    matching = [s for s in sections if current.startswith(str(s["url"]))]
    if matching:
        max(matching, key=lambda s: len(str(s["url"])))["active"] = True
    return {"sections": sections, "project": project}
