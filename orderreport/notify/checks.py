"""Start-up checks of the notification settings: say what to set instead of failing later."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_notify_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    for network in settings.OUTBOUND_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError:
            problems.append(
                Error(
                    f"OUTBOUND_ALLOWED_NETWORKS has {network!r}, which is not a network.",
                    hint="Use comma-separated CIDR networks, e.g. 10.0.5.0/24,192.168.1.7/32.",
                    id="notify.E001",
                )
            )
    if not settings.TELEGRAM_API_BASE.startswith(("https://", "http://")):
        problems.append(
            Error(
                f"TELEGRAM_API_BASE must be an http(s) URL, not {settings.TELEGRAM_API_BASE!r}.",
                hint="Leave it unset for https://api.telegram.org.",
                id="notify.E002",
            )
        )
    problems += _secrets_keys_problems()
    # A send may take up to 3 x the timeout (notify/http.py); a lease shorter than that can
    # run out during a send, and another worker would then send the same delivery again.
    longest_send = 3 * settings.OUTBOUND_TIMEOUT_SECONDS
    lease = settings.NOTIFY_LEASE_SECONDS
    if lease <= longest_send:
        problems.append(
            Warning(
                f"NOTIFY_LEASE_SECONDS ({lease}) is not longer than one "
                f"send may take (3 x OUTBOUND_TIMEOUT_SECONDS = {longest_send:g} s): a slow "
                "receiver can get the same notification twice.",
                hint=f"Set NOTIFY_LEASE_SECONDS above {longest_send:g} (default 300), or "
                "lower OUTBOUND_TIMEOUT_SECONDS.",
                id="notify.W001",
            )
        )
    return problems


def _secrets_keys_problems() -> list[CheckMessage]:
    # Without keys no channel secret can be encrypted or read; off production settings.py
    # makes one under var/, so only production can get here with none.
    from orderreport.notify.crypto import check_keys

    problem = check_keys(settings.SECRETS_KEYS)
    if problem is None:
        return []
    if not settings.SECRETS_KEYS:
        return [
            Error(
                "SECRETS_KEYS is not set: Telegram bot tokens and webhook signing secrets are "
                "stored encrypted with it, and production needs a key of its own.",
                hint='Generate one with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`, keep it with your backups, and set '
                "SECRETS_KEYS (or SECRETS_KEYS_FILE) to it.",
                id="notify.E003",
            )
        ]
    return [
        Error(
            problem,
            hint="Each key is 32 url-safe base64-encoded bytes, as Fernet.generate_key() makes; "
            "separate keys with commas, the one that encrypts first.",
            id="notify.E004",
        )
    ]
