"""Recording an order or an event record: build its row, hand it to the batch writer.

`record_order` and `record_event` are what the endpoints call. Outside a transaction (every
request) the item goes to this process's batch writer (writer.py); inside one (a test, a data
import) the batch is the one item and runs in the caller's transaction, which decides when it
commits. Either way the same backend statement applies the rules of ingest/__init__.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from orderreport.accounts.billing import billing_period
from orderreport.ingest.lookup import FormInfo, KeyInfo
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.rows import EventItem, EventRow, Item, OrderItem, OrderRow, Result, new_tag
from orderreport.ingest.schemas import EventPayload, OrderPayload
from orderreport.ingest.writer import Backend, BatchWriter, writer_for
from orderreport.projects import testmark

DEFAULT_CURRENCY = "RUB"

# The period changes once a day per account; dateutil's month arithmetic is not free.
_billing_period = lru_cache(maxsize=4096)(billing_period)


def order_item(
    info: KeyInfo, payload: OrderPayload, meta: RequestMeta, is_test: bool = False
) -> OrderItem:
    period_start, period_end = _billing_period(info.billing_anchor, meta.received_at.date())
    # One dump of both lists (in Rust) instead of one per product and data pair.
    lists = payload.model_dump(include={"products", "data"})
    return OrderItem(
        key_id=info.key_id,
        account_id=info.account_id,
        period_start=period_start,
        period_end=period_end,
        row=OrderRow(
            project_id=info.project_id,
            external_id=payload.id,
            total=payload.total,
            currency=payload.currency or DEFAULT_CURRENCY,
            username=payload.username or "",
            email=payload.email or "",
            phone=payload.phone or "",
            products=lists["products"] or [],
            data=lists["data"] or [],
            origin=meta.origin,
            client_ip=meta.client_ip,
            user_agent=meta.user_agent,
            received_at=meta.received_at,
            ingest_tag=new_tag(),
            is_test=is_test,
        ),
    )


def event_item(info: KeyInfo, event_id: int, payload: EventPayload, meta: RequestMeta) -> EventItem:
    return EventItem(
        key_id=info.key_id,
        row=EventRow(
            project_id=info.project_id,
            event_id=event_id,
            data=[d.model_dump() for d in payload.data],
            origin=meta.origin,
            client_ip=meta.client_ip,
            user_agent=meta.user_agent,
            received_at=meta.received_at,
            ingest_tag=new_tag(),
        ),
    )


def form_item(
    info: FormInfo, data: Sequence[tuple[str, str]], meta: RequestMeta, spam_reason: str = ""
) -> EventItem:
    """An event record of a form post (no API key: the event admits it)."""
    return EventItem(
        key_id=None,
        row=EventRow(
            project_id=info.project_id,
            event_id=info.event_id,
            data=[{"name": name, "value": value} for name, value in data],
            origin=meta.origin,
            client_ip=meta.client_ip,
            user_agent=meta.user_agent,
            received_at=meta.received_at,
            ingest_tag=new_tag(),
            spam=bool(spam_reason),
            spam_reason=spam_reason,
        ),
    )


def record_form(
    info: FormInfo, data: Sequence[tuple[str, str]], meta: RequestMeta, spam_reason: str = ""
) -> Result:
    """Record a form post as a record of its event; spam when `spam_reason` is given."""
    return record(form_item(info, data, meta, spam_reason))


def record_order(info: KeyInfo, payload: OrderPayload, meta: RequestMeta) -> Result:
    """Record an order against its account's plan (rules: ingest/__init__.py).

    A test order from the dashboard (its mark checked here) is recorded by rule "test".
    """
    # The mark is checked only when a header was sent: no HMAC on an ordinary order's path.
    is_test = bool(meta.test_mark) and testmark.is_valid(
        info.project_id, payload.id, meta.test_mark
    )
    return record(order_item(info, payload, meta, is_test))


def record_event(info: KeyInfo, event_id: int, payload: EventPayload, meta: RequestMeta) -> Result:
    """Record one record of an event."""
    return record(event_item(info, event_id, payload, meta))


_thread = threading.local()


def _this_threads_connection() -> Any:
    # Django keeps one connection object per thread for its life, behind an asgiref Local
    # whose every lookup costs about 3% of an order's web CPU; this thread's is remembered.
    try:
        return _thread.db
    except AttributeError:
        db = _thread.db = connections[DEFAULT_DB_ALIAS]
        return db


def record(item: Item) -> Result:
    """Record one item: with this process's batch, or in the caller's transaction."""
    db = _this_threads_connection()
    # get_autocommit() would open this thread's connection, which the request path never
    # needs otherwise: without one, the thread is in no transaction.
    if db.in_atomic_block or (db.connection is not None and not db.get_autocommit()):
        return record_in_transaction([item])[0]
    return writer(item).submit(item)


@cache
def _on_postgres() -> bool:
    # The database's kind does not change while the process runs.
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def record_in_transaction(items: Sequence[Item], retry: bool = False) -> list[Result]:
    """Record a batch inside the caller's transaction (this thread's connection)."""
    return backend().run_in_transaction(items, retry)


def writer(item: Item) -> BatchWriter:
    """The writer of the item's lane in this process."""
    if not _on_postgres():
        # SQLite has one writer per database: one lane, so its thread never waits for itself.
        return writer_for("all", backend)
    # Two lanes, two connections: a lock on the order table (a migration, VACUUM FULL) holds
    # up orders only, and events keep being recorded.
    return writer_for("orders" if isinstance(item, OrderItem) else "events", backend)


def backend() -> Backend:
    if _on_postgres():
        from orderreport.ingest import postgres

        return postgres.BACKEND
    from orderreport.ingest import sqlite

    return sqlite.BACKEND
