"""The Redis cache, made safe to lose: every caller goes on without it while it is out.

Django's RedisCache raises on a dead or hung Redis, so every caller that does not catch (the
log-in rate limits of django-allauth, the mail caps, the cache deletes after a save) would
answer 500 for as long as Redis is out. This backend answers for Redis instead, the way a cache
miss would, and reports to the one `cache_outage` of the process (orderreport/outage.py): the
outage is logged once, and while it lasts only one operation a second waits for Redis again
(REDIS_TIMEOUT_SECONDS at most), the others skip it at once.

What "as if Redis were empty" means per operation:
- get/get_many/has_key find nothing; set/set_many/touch store nothing.
- add answers True (stored). django-allauth's rate limits take a lock with `add` and wait up
  to a second for it; False would refuse every log-in while Redis is out. So rate limits and
  mail caps do not hold during an outage (docs/operations.md, "Failure modes").
- incr answers `delta` (a counter that starts now).
- delete/delete_many: a deletion that did not reach Redis is remembered (up to
  PENDING_DELETES keys) and done by the first operation that reaches Redis again, so an entry
  that survived the outage in Redis (a network cut, not a restart) is not served stale for
  the rest of its timeout. Beyond that bound, entries' own timeouts (5 minutes for keys) are
  the limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from orderreport.outage import cache_outage

T = TypeVar("T")

PENDING_DELETES = 10_000


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._pending: set[str] = set()  # keys (as given, before make_key) to delete
        self._pending_lock = threading.Lock()

    def _call(self, what: str, call: Callable[[], T], fallback: T) -> T:
        if not cache_outage.available():
            return fallback
        try:
            result = call()
        except (RedisError, OSError) as exc:  # refused, reset, timed out: no Redis now
            cache_outage.failed(what, exc)
            return fallback
        cache_outage.succeeded()
        if self._pending:
            self._flush_pending()
        return result

    def _remember(self, keys: Iterable[str], version: int | None) -> None:
        with self._pending_lock:
            for key in keys:
                if len(self._pending) >= PENDING_DELETES:
                    break
                self._pending.add(self.make_and_validate_key(key, version=version))

    def _flush_pending(self) -> None:
        with self._pending_lock:
            keys, self._pending = list(self._pending), set()
        try:
            self._cache.delete_many(keys)  # already made keys: the client's own call
        except (RedisError, OSError) as exc:
            cache_outage.failed("deleting entries changed during the outage", exc)
            with self._pending_lock:
                self._pending.update(keys[: max(0, PENDING_DELETES - len(self._pending))])

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call(
            "cache read", lambda: RedisCache.get(self, key, default, version), default
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._call("cache read", lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call("cache read", lambda: RedisCache.has_key(self, key, version), False)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._call("cache write", lambda: RedisCache.set(self, key, value, timeout, version), None)

    def set_many(
        self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._call(
            "cache write", lambda: RedisCache.set_many(self, data, timeout, version), list(data)
        )

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._call(
            "cache write", lambda: RedisCache.add(self, key, value, timeout, version), True
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(
            "cache write", lambda: RedisCache.touch(self, key, timeout, version), False
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._call("cache write", lambda: RedisCache.incr(self, key, delta, version), delta)

    def delete(self, key: Any, version: int | None = None) -> bool:
        reached, deleted = self._call(
            "cache delete", lambda: (True, RedisCache.delete(self, key, version)), (False, False)
        )
        if not reached:
            self._remember([key], version)
        return deleted

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        keys = list(keys)

        def delete() -> bool:
            RedisCache.delete_many(self, keys, version)
            return True

        if not self._call("cache delete", delete, False):
            self._remember(keys, version)

    def clear(self) -> None:
        self._call("cache clear", lambda: RedisCache.clear(self), None)
