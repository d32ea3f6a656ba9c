"""Rate limits of the public API, per API key and per client address.

Counters live in Redis when REDIS_URL is set (shared by every web process), else in process
memory. The `limits` library's sliding-window counter costs one round trip per check. A
"rate R per second with bursts of B" becomes B requests per ceil(B/R)-second window.
"""

from __future__ import annotations

import logging
import math
import time
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)


@cache
def _limiter() -> SlidingWindowCounterRateLimiter:
    store: Storage
    if settings.REDIS_URL:
        store = RedisStorage(settings.REDIS_URL, key_prefix=f"{settings.CACHE_KEY_PREFIX}:rl")
    else:
        store = MemoryStorage()
    return SlidingWindowCounterRateLimiter(store)


def _item(per_second: float, burst: int) -> RateLimitItem:
    window = max(1, math.ceil(burst / per_second))
    return RateLimitItemPerSecond(burst, window)


@cache
def _items() -> tuple[RateLimitItem, RateLimitItem]:
    return (
        _item(settings.RATE_LIMIT_KEY_PER_SECOND, settings.RATE_LIMIT_KEY_BURST),
        _item(settings.RATE_LIMIT_IP_PER_SECOND, settings.RATE_LIMIT_IP_BURST),
    )


def reset_caches() -> None:
    """Forget the limiter and limits (tests change settings between cases)."""
    _limiter.cache_clear()
    _items.cache_clear()


def check(key_id: int, client_ip: str) -> int:
    """Count one request; return 0 if allowed, else the seconds to wait (Retry-After)."""
    if not settings.RATE_LIMITS_ENABLED:
        return 0
    limiter = _limiter()
    per_key, per_ip = _items()
    try:
        for item, ident in ((per_key, f"k{key_id}"), (per_ip, f"a{client_ip}")):
            if not limiter.hit(item, ident):
                reset_at = limiter.get_window_stats(item, ident).reset_time
                return max(1, math.ceil(reset_at - time.time()))
    except Exception:  # an unreachable Redis must not turn every order away
        log.exception("rate limit check failed; letting the request through")
    return 0


def _on_setting_changed(setting: str, **kwargs: object) -> None:
    if setting.startswith("RATE_LIMIT") or setting in ("REDIS_URL", "CACHE_KEY_PREFIX"):
        reset_caches()


setting_changed.connect(_on_setting_changed)
