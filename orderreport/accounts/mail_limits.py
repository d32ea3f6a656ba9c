"""Caps on mail a member makes us send to addresses they type: invitations and channel
confirmations. Counters live in the cache (Redis when set), so they hold across processes."""

from __future__ import annotations

import hashlib
import logging
from enum import Enum

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)

DAY = 24 * 3600


class Verdict(Enum):
    SEND = "send"
    COOLDOWN = "cooldown"  # this address got the same kind of mail a moment ago
    CAPPED = "capped"  # the member has used up today's mails of this kind


def _per_day(kind: str) -> int:
    if kind == "invitation":
        return int(settings.INVITATION_MAILS_PER_DAY)
    return int(settings.CONFIRMATION_MAILS_PER_DAY)


def take(kind: str, user_id: int | None, address: str) -> Verdict:
    """Whether a mail of `kind` ("invitation" or "confirmation") may go to `address` on behalf
    of the user; SEND also counts it."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]
    day_key = f"mail-cap:{kind}:{user_id}:{timezone.now():%Y%m%d}"
    address_key = f"mail-cooldown:{kind}:{digest}"
    cooldown = int(settings.MAIL_ADDRESS_COOLDOWN_SECONDS)
    try:
        if user_id is not None and int(cache.get(day_key, 0)) >= _per_day(kind):
            return Verdict.CAPPED
        if cooldown and not cache.add(address_key, 1, cooldown):
            return Verdict.COOLDOWN
        if user_id is not None:
            cache.add(day_key, 0, DAY)
            cache.incr(day_key)
    except Exception:
        # A dead cache must not stop sign-ups and invitations; the outage is logged elsewhere.
        log.warning("mail limits unavailable, %s to an address allowed", kind)
    return Verdict.SEND
