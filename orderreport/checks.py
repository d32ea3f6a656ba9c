"""Start-up checks: misconfiguration stops the process with a message saying what to set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    if not settings.BASE_URL.startswith(("http://", "https://")):
        problems.append(
            Error(
                f"BASE_URL must start with http:// or https://, not {settings.BASE_URL!r}.",
                hint="Set BASE_URL to the address users reach this server at.",
                id="orderreport.E001",
            )
        )
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
        problems.append(
            Error(
                f"DATABASE_URL selects {engine}; OrderReport runs on PostgreSQL or SQLite.",
                hint="Use postgres://user@host/db or sqlite:////path/to/file.sqlite3.",
                id="orderreport.E002",
            )
        )
    if not settings.DEBUG and settings.BASE_URL.startswith("https://") and not settings.REDIS_URL:
        problems.append(
            Warning(
                "REDIS_URL is not set: rate limits and the API key cache are per process.",
                hint="Set REDIS_URL when running more than one web process.",
                id="orderreport.W001",
            )
        )
    if (
        not settings.DEBUG
        and settings.BASE_URL.startswith("https://")
        and settings.EMAIL_BACKEND.endswith("console.EmailBackend")
    ):
        problems.append(
            Warning(
                "E-mail (sign-up confirmations, password resets, invitations) is printed to the "
                "console, not sent.",
                hint="Set EMAIL_URL (smtp://user:password@host:587/?tls=True) or EMAIL_HOST.",
                id="orderreport.W002",
            )
        )
    problems += _https_problems()
    return problems


def _https_problems() -> list[Error | Warning]:
    """With an https BASE_URL, Django must be able to tell which requests came over https."""
    if settings.DEBUG or not settings.HTTPS or getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return []
    # `orderreport serve` speaks plain http: TLS ends at a proxy in front, and without its
    # X-Forwarded-Proto every request looks like plain http.
    if settings.SECURE_SSL_REDIRECT:
        return [
            Error(
                "BASE_URL is https and SECURE_SSL_REDIRECT is on, but SECURE_PROXY_SSL_HEADER "
                "is not set: behind a proxy that terminates TLS every request would be "
                "redirected to https again, forever.",
                hint="Set SECURE_PROXY_SSL_HEADER=true if the proxy sets X-Forwarded-Proto, or "
                "SECURE_SSL_REDIRECT=false if the proxy redirects http to https itself.",
                id="orderreport.E003",
            )
        ]
    if settings.SECURE_HSTS_SECONDS:
        return [
            Warning(
                "BASE_URL is https but SECURE_PROXY_SSL_HEADER is not set: no request is known "
                "to be https, so no Strict-Transport-Security header is sent.",
                hint="Set SECURE_PROXY_SSL_HEADER=true if the proxy sets X-Forwarded-Proto, or "
                "SECURE_HSTS_SECONDS=0 if the proxy sends the header itself.",
                id="orderreport.W003",
            )
        ]
    return []
