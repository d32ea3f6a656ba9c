"""Rate limits of the public API, per API key and per client address.

Counters live in Redis when REDIS_URL is set (shared by every web process), else in process
memory, and use the `limits` library's sliding-window counter. A "rate R per second with
bursts of B" becomes B requests per ceil(B/R)-second window. On the tracking API's hot path
admission.py counts both limits in the same Redis round trip as the key lookup, on the keys
this module names; check() is the path without Redis and after a cache miss.

The form endpoints (ingest/forms.py) count against the same two limits, with the event in the
key's place (check_form); a third counter per client address, FORM_RATE_PER_MINUTE, is not a
limit but a spam rule: a post over it is recorded and flagged (over_form_rate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

from orderreport.outage import cache_outage


@cache
def _limiter() -> SlidingWindowCounterRateLimiter:
    store: Storage
    if settings.REDIS_URL:
        store = RedisStorage(
            settings.REDIS_URL,
            key_prefix=f"{settings.CACHE_KEY_PREFIX}:rl",
            # The same timeouts as the cache; admission.py's connections inherit them too.
            **settings.REDIS_OPTIONS,
        )
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


@cache
def _form_item() -> RateLimitItem:
    return RateLimitItemPerMinute(settings.FORM_RATE_PER_MINUTE, 1)


# Caches elsewhere built on the limiter (admission.py), forgotten with it.
_reset_hooks: list[Callable[[], None]] = []


def reset_caches() -> None:
    """Forget the limiter and limits (tests change settings between cases)."""
    _limiter.cache_clear()
    _items.cache_clear()
    _form_item.cache_clear()
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
    return _check(identities(key_ident, client_ip))


def check_form(event_id: int, client_ip: str | None) -> int:
    """check() for a form post: the event stands in for the API key.

    `client_ip` None counts the event only: a site builder's servers post the forms of
    thousands of sites from a few addresses.
    """
    per_key, per_ip = _items()
    counters = [(per_key, f"e{event_id}")]
    if client_ip is not None:
        counters.append((per_ip, f"a{client_ip}"))
    return _check(counters)


def _check(counters: Sequence[tuple[RateLimitItem, str]]) -> int:
    if not settings.RATE_LIMITS_ENABLED:
        return 0
    redis = bool(settings.REDIS_URL)
    if redis and not cache_outage.available():
        return 0  # as when Redis does not answer: the request goes through
    limiter = _limiter()
    try:
        for item, ident in counters:
            if not limiter.hit(item, ident):
                return retry_after(item, ident)
    except Exception as exc:  # an unreachable Redis must not turn every order away
        cache_outage.failed("rate limit check; letting the request through", exc)
    else:
        if redis:
            cache_outage.succeeded()
    return 0


def over_form_rate(client_ip: str) -> bool:
    """Count one form post from this address; True if it is over FORM_RATE_PER_MINUTE.

    A spam rule, not a limit (ingest/spam.py): the post is still recorded, flagged.
    """
    redis = bool(settings.REDIS_URL)
    if redis and not cache_outage.available():
        return False
    try:
        over = not _limiter().hit(_form_item(), f"f{client_ip}")
    except Exception as exc:  # Redis down: no post is called spam for it
        cache_outage.failed("form rate check; not flagging the post", exc)
        return False
    if redis:
        cache_outage.succeeded()
    return over


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
    if setting.startswith(("RATE_LIMIT", "FORM_RATE", "REDIS_")) or setting == "CACHE_KEY_PREFIX":
        reset_caches()
    if setting.startswith("REDIS_") or setting == "CACHES":
        cache_outage.forget()  # another Redis: what this one did says nothing of it


setting_changed.connect(_on_setting_changed)
