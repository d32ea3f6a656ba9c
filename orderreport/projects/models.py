"""Projects and what the tracking API checks against: domains, API keys, event keys."""

from __future__ import annotations

import secrets
import string

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account

_EVENT_KEY_ALPHABET = string.ascii_lowercase + string.digits


def generate_api_key() -> str:
    # 32 random bytes, URL-safe: unguessable, and copy-pastes cleanly into a header.
    return "or_" + secrets.token_urlsafe(32)


def generate_event_key() -> str:
    # Short and readable like the guide's "cfsdfsfds", long enough not to collide in a project.
    return "".join(secrets.choice(_EVENT_KEY_ALPHABET) for _ in range(12))


class Project(models.Model):
    account = models.ForeignKey(Account, models.CASCADE, related_name="projects")
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    currency = models.CharField(_("default currency"), max_length=3, default="RUB")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Domain(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="domains")
    # Lower-case IDNA host, or "*." + host; see orderreport/projects/domains.py.
    host = models.CharField(_("domain"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(fields=["project", "host"], name="domain_project_host")
        ]

    def __str__(self) -> str:
        return self.host


class ApiKey(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, default="Default")
    key = models.CharField(max_length=64, unique=True, default=generate_api_key)
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.key[:7]}…)"


class Event(models.Model):
    """An event type (a form, a call-back request...) that sites send records of."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="events")
    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(max_length=64, default=generate_event_key)
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="event_project_key")]

    def __str__(self) -> str:
        return self.name
