"""Projects and what the tracking API checks against: domains, API keys, event keys."""

from __future__ import annotations

import hashlib
import secrets
import string

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account

_EVENT_KEY_ALPHABET = string.ascii_lowercase + string.digits
SERVER_KEY_PREFIX = "sk_"
# How much of a server key is kept for display: "sk_" and 5 random characters, not a secret.
SERVER_KEY_DISPLAY_CHARS = 8


def generate_api_key() -> str:
    # 32 random bytes, URL-safe: unguessable, and copy-pastes cleanly into a header.
    return "or_" + secrets.token_urlsafe(32)


def generate_server_key() -> str:
    # A server key: shown once, stored only as its SHA-256 (ApiKey.key of a server key).
    return SERVER_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_server_key(raw_key: str) -> str:
    """What is stored for a server key: SHA-256 hex of the value (64 characters).

    A plain fast hash is enough: the values are 256 random bits, nothing to brute-force.
    """
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


def generate_event_key() -> str:
    # Short and readable like the guide's "cfsdfsfds", long enough not to collide in a project.
    return "".join(secrets.choice(_EVENT_KEY_ALPHABET) for _ in range(12))


def generate_form_token() -> str:
    return "fh_" + secrets.token_urlsafe(24)


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
    """An X-API-KEY value of a project.

    A browser key (`or_…`, every key of the guide) sits in the shop's page and only tracks;
    `key` is its value. A server key (`sk_…`) lives on the shop's server and may also update
    and read (docs/integration.md, "Server keys"); its value is shown once, and `key` holds
    only its SHA-256 (hash_server_key), `prefix` its first characters for display.
    """

    class Kind(models.TextChoices):
        BROWSER = "browser", _("Browser")
        SERVER = "server", _("Server")

    project = models.ForeignKey(Project, models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, default="Default")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.BROWSER)
    # A browser key's value; a server key's SHA-256 hex (never its value).
    key = models.CharField(max_length=64, unique=True, default=generate_api_key)
    prefix = models.CharField(max_length=SERVER_KEY_DISPLAY_CHARS, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["browser", "server"]), name="api_key_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_key}…)"

    @property
    def is_server(self) -> bool:
        return self.kind == self.Kind.SERVER

    @property
    def display_key(self) -> str:
        """The part of the key that may be shown: never a server key's value or hash."""
        return self.prefix if self.is_server else self.key[:7]


class Event(models.Model):
    """An event type (a form, a call-back request...) that sites send records of."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="events")
    name = models.CharField(_("name"), max_length=200)
    # Unique across projects: a form posts to /f/<key> with no API key.
    key = models.CharField(max_length=64, default=generate_event_key, unique=True)
    # The secret of /hooks/forms/<token> (site builders' server-to-server posts); rotatable.
    form_token = models.CharField(max_length=64, default=generate_form_token, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="event_project_key")]

    def __str__(self) -> str:
        return self.name
