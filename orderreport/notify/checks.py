"""Start-up checks of the notification settings: say what to set instead of failing later."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_notify_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    problems: list[Error] = []
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
    return problems
