"""The hot-path lookup: API key -> project, account, active domains and events.

Cached in the shared cache (Redis in production) so a tracking request normally costs one
cache read and no database query; unknown keys are cached too, so a flood of bad keys never
reaches the database. Every change to a key, domain, event, project or account deletes the
affected entries (orderreport/ingest/signals.py), so a deactivated key is refused on the
very next request from any process.

Both kinds of key share one cache: an entry is named after the SHA-256 of the raw X-API-KEY
value (key_ident). A server key (`sk_…`) is stored as exactly that hash, so its entry can be
named (and deleted) from the database row although the value itself is never stored; a
browser key's entry is named from its stored value. A browser key's request therefore costs
what it always did: one cache read, and nothing else when the key is cached.

The form endpoints have no API key: `/f/<event_key>` and `/hooks/forms/<token>` look up the
event itself (FormInfo) in the same cache, by its key or its form token, unknown ones cached
too, and deleted on the same changes (invalidate_projects, and the event's own signals).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache

from orderreport.dbdeadline import query_deadline
from orderreport.outage import cache_outage
from orderreport.projects.models import (
    SERVER_KEY_PREFIX,
    ApiKey,
    Domain,
    Event,
    hash_server_key,
)

# Positive entries are also deleted on every change; the TTL only bounds the damage of a
# lost invalidation (a cache restart mid-change, a race with a concurrent reload).
TTL_SECONDS = 300
_MISSING = 0  # cached for unknown or inactive keys
MAX_KEY_LENGTH = 128
BROWSER = ApiKey.Kind.BROWSER.value
SERVER = ApiKey.Kind.SERVER.value


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: int
    project_id: int
    account_id: int
    billing_anchor: dt.date
    domains: tuple[str, ...]
    # event key -> (event id, is active)
    events: dict[str, tuple[int, bool]] = field(default_factory=dict)
    kind: str = BROWSER  # ApiKey.Kind: "browser" or "server"


def key_ident(raw_key: str) -> str:
    """A stable name for an API key that does not reveal it (cache and rate-limit keys)."""
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


# "v2": KeyInfo gained `kind`; entries pickled before it would not load.
_CACHE_PREFIX = "apikey:v2:"


def cache_key(raw_key: str) -> str:
    return _CACHE_PREFIX + key_ident(raw_key)


def stored_cache_key(stored: str, kind: str) -> str:
    """cache_key of a key known by its row: `stored` is ApiKey.key of that kind."""
    # A server key's stored value is the full SHA-256 whose first 40 digits are key_ident.
    return _CACHE_PREFIX + (stored[:40] if kind == SERVER else key_ident(stored))


def load_key_info(raw_key: str) -> KeyInfo | None:
    """Read a key's KeyInfo from the database (None if unknown or inactive)."""
    # Not cached, or Redis out: the tracking request's only queries in its own thread, so a
    # hung database costs it DB_QUERY_TIMEOUT_SECONDS, then the 503 of http.answer_request.
    with query_deadline():
        return _load_key_info(raw_key)


def _load_key_info(raw_key: str) -> KeyInfo | None:
    if raw_key.startswith(SERVER_KEY_PREFIX):
        # Stored as its hash. Never compared with a browser key's value, nor the other way
        # round: whoever reads the table's hashes cannot send one as a key.
        stored, kind = hash_server_key(raw_key), SERVER
    else:
        stored, kind = raw_key, BROWSER
    key = (
        ApiKey.objects.filter(key=stored, kind=kind, is_active=True)
        .select_related("project__account")
        .only("id", "project__id", "project__account__id", "project__account__billing_anchor")
        .first()
    )
    if key is None:
        return None
    project = key.project
    domains = tuple(
        Domain.objects.filter(project=project, is_active=True).values_list("host", flat=True)
    )
    events = {
        k: (pk, active)
        for pk, k, active in Event.objects.filter(project=project).values_list(
            "id", "key", "is_active"
        )
    }
    return KeyInfo(
        key_id=key.id,
        project_id=project.id,
        account_id=project.account.id,
        billing_anchor=project.account.billing_anchor,
        domains=domains,
        events=events,
        kind=kind,
    )


def get_key_info(raw_key: str) -> KeyInfo | None:
    """KeyInfo for an X-API-KEY value, from the cache when possible."""
    # PostgreSQL refuses NUL in a query parameter (a database error, not "no such key").
    if len(raw_key) > MAX_KEY_LENGTH or "\x00" in raw_key:
        return None
    if not cache_outage.available():  # admission.py counted this request
        return load_key_info(raw_key)
    ckey = cache_key(raw_key)
    try:
        cached = cache.get(ckey)
    except Exception as exc:  # a cache outage must not take the API down; the database answers
        cache_outage.failed("key lookup; falling back to the database", exc)
        return load_key_info(raw_key)
    cache_outage.succeeded()
    if cached is not None:
        return cached or None
    info = load_key_info(raw_key)
    try:
        cache.set(ckey, info or _MISSING, TTL_SECONDS)
    except Exception as exc:
        cache_outage.failed("key cache write", exc)
    return info


def invalidate_keys(stored_keys: Iterable[tuple[str, str]]) -> None:
    """Delete the entries of keys given as (ApiKey.key, ApiKey.kind) pairs."""
    keys = [stored_cache_key(stored, kind) for stored, kind in stored_keys]
    if keys:
        cache.delete_many(keys)


def invalidate_projects(project_ids: Iterable[int]) -> None:
    ids = list(project_ids)
    invalidate_keys(ApiKey.objects.filter(project_id__in=ids).values_list("key", "kind"))
    events = list(Event.objects.filter(project_id__in=ids).values_list("key", "form_token"))
    invalidate_forms([k for k, _t in events], [t for _k, t in events])


@dataclass(frozen=True, slots=True)
class FormInfo:
    """What a form post needs of its event: where it records, and which origins may post."""

    event_id: int
    project_id: int
    active: bool
    domains: tuple[str, ...]


_FORM_PREFIX = {"key": "formkey:v1:", "form_token": "formtoken:v1:"}


def form_cache_key(by: str, value: str) -> str:
    return _FORM_PREFIX[by] + key_ident(value)


def load_form_info(by: str, value: str) -> FormInfo | None:
    """Read the FormInfo of the event whose `by` ("key" or "form_token") is `value`."""
    with query_deadline():  # as load_key_info
        return _load_form_info(by, value)


def _load_form_info(by: str, value: str) -> FormInfo | None:
    row = Event.objects.filter(**{by: value}).values_list("id", "project_id", "is_active").first()
    if row is None:
        return None
    event_id, project_id, active = row
    domains = tuple(
        Domain.objects.filter(project_id=project_id, is_active=True).values_list("host", flat=True)
    )
    return FormInfo(event_id=event_id, project_id=project_id, active=active, domains=domains)


def get_form_info(by: str, value: str) -> FormInfo | None:
    """FormInfo for an event key (`by="key"`) or form token (`by="form_token"`), cached."""
    if not value or len(value) > MAX_KEY_LENGTH or "\x00" in value:
        return None
    if not cache_outage.available():
        cache_outage.skipped()
        return load_form_info(by, value)
    ckey = form_cache_key(by, value)
    try:
        cached = cache.get(ckey)
    except Exception as exc:
        cache_outage.failed("form lookup; falling back to the database", exc)
        return load_form_info(by, value)
    cache_outage.succeeded()
    if cached is not None:
        return cached or None
    info = load_form_info(by, value)
    try:
        cache.set(ckey, info or _MISSING, TTL_SECONDS)
    except Exception as exc:
        cache_outage.failed("form cache write", exc)
    return info


def invalidate_forms(keys: Iterable[str] = (), tokens: Iterable[str] = ()) -> None:
    """Delete the form entries of these event keys and form tokens."""
    names = [form_cache_key("key", k) for k in keys]
    names += [form_cache_key("form_token", t) for t in tokens]
    if names:
        cache.delete_many(names)
