"""Rate limits of the public API, per API key and per client address.

Counters live in Redis when REDIS_URL is set (shared by every web process), else in process
memory, and use the `limits` library's sliding-window counter. A "rate R per second with
bursts of B" becomes B requests per ceil(B/R)-second window. On the tracking API's hot path
admission.py counts both limits in the same Redis round trip as the key lookup, on the keys
this module names; check() is the path without Redis and after a cache miss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

from orderreport.outage import cache_outage


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


# Caches elsewhere built on the limiter (admission.py), forgotten with it.
_reset_hooks: list[Callable[[], None]] = []


def reset_caches() -> None:
    """Forget the limiter and limits (tests change settings between cases)."""
    _limiter.cache_clear()
    _items.cache_clear()
    for hook in _reset_hooks:
        hook()


def identities(key_ident: str, client_ip: str) -> tuple[tuple[RateLimitItem, str], ...]:
    """The two limits and whom each counts, in the order they are checked."""
    per_key, per_ip = _items()
    return ((per_key, f"k{key_ident}"), (per_ip, f"a{client_ip}"))


def check(key_ident: str, client_ip: str) -> int:
    """Count one request; return 0 if allowed, else the seconds to wait (Retry-After).

    `key_ident` names the API key (see lookup.key_ident), `client_ip` the caller.
    """
    if not settings.RATE_LIMITS_ENABLED:
        return 0
    limiter = _limiter()
    try:
        for item, ident in identities(key_ident, client_ip):
            if not limiter.hit(item, ident):
                return retry_after(item, ident)
    except Exception as exc:  # an unreachable Redis must not turn every order away
        cache_outage.failed("rate limit check; letting the request through", exc)
    return 0


def retry_after(item: RateLimitItem, ident: str) -> int:
    reset_at = _limiter().get_window_stats(item, ident).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def redis_window_keys(item: RateLimitItem, ident: str) -> tuple[str, str]:
    """The Redis keys (previous, current window) the library keeps this counter in.

    orderreport/ingest/admission.py updates them with the library's own algorithm, in the
    same round trip as the key lookup; the library still reads them for Retry-After.
    """
    store = _limiter().storage
    assert isinstance(store, RedisStorage)
    key = item.key_for(ident)
    return (
        store.prefixed_key(store._previous_window_key(key)),
        store.prefixed_key(store._current_window_key(key)),
    )


def redis_client() -> Any:
    store = _limiter().storage
    assert isinstance(store, RedisStorage)
    return store.get_connection()


def _on_setting_changed(setting: str, **kwargs: object) -> None:
    if setting.startswith("RATE_LIMIT") or setting in ("REDIS_URL", "CACHE_KEY_PREFIX"):
        reset_caches()


setting_changed.connect(_on_setting_changed)
