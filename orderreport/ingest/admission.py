"""Who may send this request: the API key's KeyInfo and both rate limits, in one round trip.

Without Redis this is simply lookup.get_key_info then ratelimit.check. With Redis those would
be three round trips (the cached key, then one script per limit), and on a two-core server
each round trip costs more CPU in the client library and in context switches than the rest
of the checks together. So one Lua script reads the cached KeyInfo that lookup.py stored
through Django's cache and, if the key is known, counts the request against both limits with
the `limits` library's own sliding-window algorithm on the library's own keys. Semantics stay
those of lookup.py and ratelimit.py: the cache is shared by every process and emptied on every
change (so a deactivated key is refused on the very next request), unknown keys are not
counted, the per-key limit is checked before the per-address one, and the library still
answers Retry-After on the rare refused request.
"""

from __future__ import annotations

import os
import threading
from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.cache.backends.redis import RedisSerializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from orderreport.ingest import ratelimit
from orderreport.ingest.lookup import (
    MAX_KEY_LENGTH,
    KeyInfo,
    cache_key,
    get_key_info,
    key_ident,
)
from orderreport.outage import cache_outage

# KEYS: the cached KeyInfo, then (previous, current) window of the per-key and the
# per-address counter. ARGV: enabled (1/0), then limit and window seconds of each counter.
# Answers {cached value or false, 0 | index of the counter that refused}.
# `acquire` is limits' resources/redis/lua_scripts/acquire_sliding_window.lua (MIT licence),
# unchanged but for the function wrapper.
_SCRIPT = """
local function acquire(previous_key, current_key, limit, window)
  local expiry = window * 1000
  local current_ttl = tonumber(redis.call('pttl', current_key))
  if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', current_key, previous_key)
    redis.call('set', current_key, 0, 'PX', current_ttl + expiry)
  end
  local previous_count = tonumber(redis.call('get', previous_key)) or 0
  local previous_ttl = tonumber(redis.call('pttl', previous_key)) or 0
  local current_count = tonumber(redis.call('get', current_key)) or 0
  current_ttl = tonumber(redis.call('pttl', current_key)) or 0
  if previous_ttl <= 0 then previous_ttl = 0 end
  if current_ttl <= 0 then current_ttl = 0 end
  local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
  if (weighted_count + 1) > limit then return false end
  if redis.call('exists', current_key) == 1 then
    redis.call('incrby', current_key, 1)
  else
    redis.call('set', current_key, 1, 'PX', expiry * 2)
  end
  return true
end

local info = redis.call('get', KEYS[1])
if not info or info == '0' or ARGV[1] == '0' then return {info, 0} end
if not acquire(KEYS[2], KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3])) then return {info, 1} end
if not acquire(KEYS[4], KEYS[5], tonumber(ARGV[4]), tonumber(ARGV[5])) then return {info, 2} end
return {info, 0}
"""


@cache
def _script() -> Any:
    return ratelimit.redis_client().register_script(_SCRIPT)


@cache
def _serializer() -> RedisSerializer:
    return RedisSerializer()


# Each request thread talks to Redis on a connection of its own, with the raw send/read calls
# of redis-py: the client's per-command layers (connection pool, retries, metrics) cost more
# CPU than the round trip itself on this path. A new generation (settings changed in tests)
# or a new process (a fork) makes every thread connect afresh.
_local = threading.local()
_generation = [0]


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None or _local.tag != (os.getpid(), _generation[0]):
        if conn is not None:
            conn.disconnect()
        pool = ratelimit.redis_client().connection_pool
        conn = pool.connection_class(**pool.connection_kwargs)
        _local.conn, _local.tag = conn, (os.getpid(), _generation[0])
    return conn


def _evalsha(keys: list[str], args: list[int]) -> Any:
    script = _script()
    conn = _connection()
    for attempt in range(3):
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return conn.read_response()
        except NoScriptError:
            # Redis restarted or its scripts were flushed: load ours again.
            ratelimit.redis_client().script_load(_SCRIPT)
        except RedisConnectionError:
            conn.disconnect()  # reconnects on the next send
            if attempt:
                raise
        except RedisTimeoutError:
            # Hung, not restarted: trying again would only wait as long a second time.
            conn.disconnect()
            raise
        except BaseException:
            conn.disconnect()  # an answer may still be on its way: never read it as ours
            raise
    raise RuntimeError("the admission script could not be loaded")


@lru_cache(maxsize=4096)
def _unpickled(cached: bytes) -> Any:
    """The cached KeyInfo from its bytes, unpickled once per distinct value.

    Unpickling cost about 5% of an order's web CPU. Keyed by the exact bytes, so a changed
    entry (a domain added, a key switched off) is new bytes and is read afresh.
    """
    return _serializer().loads(cached)


@lru_cache(maxsize=8192)
def _redis_keys(raw_key: str, client_ip: str) -> tuple[list[str], list[int]]:
    """The script's KEYS and ARGV but the first argument, for one key and client address."""
    counters = ratelimit.identities(key_ident(raw_key), client_ip)
    keys = [django_cache.make_key(cache_key(raw_key))]
    args: list[int] = []
    for item, ident in counters:
        keys.extend(ratelimit.redis_window_keys(item, ident))
        args += [item.amount, item.get_expiry()]
    return keys, args


def _reset() -> None:
    _script.cache_clear()
    _redis_keys.cache_clear()
    _generation[0] += 1


ratelimit._reset_hooks.append(_reset)


def admit(raw_key: str, client_ip: str) -> tuple[KeyInfo | None, int]:
    """(the key's KeyInfo, or None if unknown or inactive; 0, or Retry-After seconds)."""
    if len(raw_key) > MAX_KEY_LENGTH:
        return None, 0
    if not settings.REDIS_URL:
        pass
    elif not cache_outage.available():
        cache_outage.skipped()  # Redis is out: the slow path asks nothing of it either
    else:
        try:
            admitted = _admit_redis(raw_key, client_ip)
        except Exception as exc:  # Redis down: the slow path below copes (database, no limits)
            cache_outage.failed("one-round-trip admission; using the slow path", exc)
        else:
            cache_outage.succeeded()
            return admitted
    return _admit_slow(raw_key, client_ip)


def _admit_slow(raw_key: str, client_ip: str) -> tuple[KeyInfo | None, int]:
    info = get_key_info(raw_key)
    if info is None:
        return None, 0
    return info, ratelimit.check(key_ident(raw_key), client_ip)


def _admit_redis(raw_key: str, client_ip: str) -> tuple[KeyInfo | None, int]:
    keys, args = _redis_keys(raw_key, client_ip)
    cached, refused = _evalsha(keys, [1 if settings.RATE_LIMITS_ENABLED else 0, *args])
    if cached is None:
        # Not cached yet (or just invalidated): load it once through the usual path.
        return _admit_slow(raw_key, client_ip)
    value = _unpickled(cached)
    if not value:
        return None, 0
    assert isinstance(value, KeyInfo)
    if refused:
        item, ident = ratelimit.identities(key_ident(raw_key), client_ip)[refused - 1]
        return value, ratelimit.retry_after(item, ident)
    return value, 0
