"""Start-up checks of the notification settings."""

from __future__ import annotations

from typing import Any

from orderreport.notify.checks import check_notify_settings


def test_it_warns_of_a_lease_shorter_than_one_send(settings: Any) -> None:
    settings.OUTBOUND_TIMEOUT_SECONDS = 10
    settings.NOTIFY_LEASE_SECONDS = 20
    (warning,) = [p for p in check_notify_settings() if p.id == "notify.W001"]
    assert "NOTIFY_LEASE_SECONDS (20)" in warning.msg
    assert "above 30" in (warning.hint or "")
    settings.NOTIFY_LEASE_SECONDS = 300
    assert not [p for p in check_notify_settings() if p.id == "notify.W001"]
