"""Template helpers shared by every dashboard page."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from orderreport.display import is_right_to_left, neutralise
from orderreport.times import format_day, format_moment

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


@register.simple_tag
def site_name() -> str:
    """SITE_NAME, for pages and mails alike: a tag needs no request or context processor, so
    the 500 page and mails rendered outside a request can use it too."""
    return str(settings.SITE_NAME)


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


def _zone(zone: object) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(str(zone))
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _language() -> str:
    return translation.get_language() or "en"


@register.filter
def moment(value: dt.datetime | None, zone: object) -> str:
    """`{{ order.received_at|moment:zone }}`: the time in the project's zone (a ZoneInfo or
    its name), in the reader's language. The page names the zone once (`zone_note`)."""
    if value is None:
        return ""
    return format_moment(value, _zone(zone), _language())


@register.filter
def moment_seconds(value: dt.datetime | None, zone: object) -> str:
    """`moment` with seconds, for delivery attempts a few seconds apart."""
    if value is None:
        return ""
    return format_moment(value, _zone(zone), _language(), seconds=True)


@register.filter
def day(value: dt.date | dt.datetime | None, zone: object = None) -> str:
    """`{{ usage.period_end|day }}`: a day in the reader's language ("Dec 2, 2026")."""
    if value is None:
        return ""
    return format_day(value, _language(), _zone(zone) if zone else None)


@register.filter
def customer(value: object) -> SafeString:
    """`{{ order.username|customer }}`: a string from a shop or form, its control and bidi
    characters shown escaped (`orderreport.display`) and, if it holds right-to-left letters,
    isolated in `<bdi>`: neither a line break nor a direction in it changes the page around it."""
    if value is None:
        return SafeString("")
    text = neutralise(value)
    return format_html("<bdi>{}</bdi>" if is_right_to_left(text) else "{}", text)


@register.filter
def customer_text(value: object) -> str:
    """`customer` without the `<bdi>`, where no tag may go: `<title>`, attribute values."""
    if value is None:
        return ""
    return neutralise(value)


# The no-break space that joins a currency to its amount ("RUB 166,220.00", "6 500,00 ₽").
_CURRENCY_SPACE = re.compile("^[^\\d\xa0]+\xa0|\xa0(?=[^\\d\xa0]+$)")


@register.filter
def money_breaks(value: object) -> SafeString:
    """`{{ figure.value|money_breaks }}`: a `<wbr>` after the space between a currency and
    its amount. On a phone's narrow figure card the line may then break there, not inside the
    digits ("RUB 166,220.0" + "0"); the text itself (copied, read aloud) is unchanged."""
    text = str(value)
    cuts = [0, *(m.end() for m in _CURRENCY_SPACE.finditer(text)), len(text)]
    pieces = ((text[start:end],) for start, end in itertools.pairwise(cuts))
    return format_html_join(SafeString("<wbr>"), "{}", pieces)
