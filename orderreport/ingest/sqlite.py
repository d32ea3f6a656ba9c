"""SQLite's statements for the recording rules (ingest/__init__.py): item by item, one writer.

SQLite lets one connection write at a time. Request threads each opening a write transaction
queued on the database lock with busy-wait sleeps (p99 near a second under load); so on SQLite
a single writer thread per process (writer.py, lane "all") takes every order and event record
and commits each batch as one IMMEDIATE transaction, one fsync for the whole batch. Inside the
transaction nobody else can write, so the rules are plain Python over point queries, in
arrival order, with the batch's usage counters kept in memory and written once at the end.
The queries go to the raw sqlite3 cursor: Django's cursor wrapper costs more than the query.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from orderreport import tally
from orderreport.accounts.models import Account, HeldOrder, Plan, Usage
from orderreport.events.models import EventRecord, EventTally
from orderreport.ingest import writer
from orderreport.ingest.rows import (
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    HELD_COLUMNS,
    JSON_COLUMNS,
    LIMIT_THRESHOLDS,
    ORDER_COLUMNS,
    UNLIMITED,
    EventItem,
    Item,
    OrderItem,
    OrderRow,
    Outcome,
    Result,
)
from orderreport.notify.models import Channel, Delivery, LimitWarning
from orderreport.orders.models import Order, OrderTally, ProductTally
from orderreport.orders.tallies import product_lines
from orderreport.projects.models import ApiKey, Event, Project

_PENDING = "'pending', 0, ?, '', '', ?"


@cache
def _sql() -> dict[str, str]:
    order, record = Order._meta.db_table, EventRecord._meta.db_table
    usage, account, plan = Usage._meta.db_table, Account._meta.db_table, Plan._meta.db_table
    key, event, project = ApiKey._meta.db_table, Event._meta.db_table, Project._meta.db_table
    delivery, channel = Delivery._meta.db_table, Channel._meta.db_table
    channel_events = Channel.events.through._meta.db_table
    warning = LimitWarning._meta.db_table
    order_tally, product_tally = OrderTally._meta.db_table, ProductTally._meta.db_table
    event_tally = EventTally._meta.db_table
    held = HeldOrder._meta.db_table
    return {
        "key_ok": f"SELECT 1 FROM {key} WHERE id = ? AND project_id = ? AND is_active",
        "limit": (
            f"SELECT COALESCE(p.monthly_order_limit, {UNLIMITED}) FROM {account} a "
            f"JOIN {plan} p ON p.id = a.plan_id WHERE a.id = ?"
        ),
        "used": f"SELECT used FROM {usage} WHERE account_id = ? AND period_start = ?",
        "count": (
            f"INSERT INTO {usage} (account_id, period_start, used) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id, period_start) DO UPDATE SET used = excluded.used"
        ),
        "known_order": (
            f"SELECT id, ingest_tag FROM {order} WHERE project_id = ? AND external_id = ?"
        ),
        "insert_order": (
            f"INSERT INTO {order} ({', '.join(ORDER_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(ORDER_COLUMNS))}) RETURNING id"
        ),
        "hold": (
            f"INSERT INTO {held} (account_id, period_start, expires_at, "
            f"{', '.join(HELD_COLUMNS)}) VALUES ({', '.join('?' * (len(HELD_COLUMNS) + 3))}) "
            "ON CONFLICT (project_id, external_id) DO NOTHING"
        ),
        "take_held": f"DELETE FROM {held} WHERE project_id = ? AND external_id = ?",
        "queue_order": (
            f"INSERT INTO {delivery} ({DELIVERY_COLUMNS.format(target='order_id')}) "
            f"SELECT c.id, 'order', ?, {_PENDING} FROM {channel} c "
            "WHERE c.project_id = ? AND c.is_active AND c.receives_orders"
        ),
        "warn": (
            f"INSERT INTO {warning} (account_id, period_start, threshold, used, monthly_limit, "
            "created) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account_id, period_start, threshold) DO NOTHING RETURNING id"
        ),
        "queue_warning": (
            f"INSERT INTO {delivery} ({DELIVERY_COLUMNS.format(target='limit_warning_id')}) "
            f"SELECT c.id, 'limit', ?, {_PENDING} FROM {channel} c "
            f"JOIN {project} p ON p.id = c.project_id "
            "WHERE p.account_id = ? AND c.is_active AND c.receives_limits "
            # The account owner always hears about the limit, by e-mail (no channel).
            f"UNION ALL SELECT NULL, 'limit', ?, {_PENDING}"
        ),
        "tally_order": (
            f"INSERT INTO {order_tally} (project_id, slot, currency, status, orders, revenue, "
            "items) VALUES (?, ?, ?, 'new', ?, ?, ?)"
        ),
        "tally_product": (
            f"INSERT INTO {product_tally} (project_id, day, currency, name, quantity, revenue) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        ),
        "tally_record": (
            f"INSERT INTO {event_tally} (project_id, event_id, slot, records) VALUES (?, ?, ?, ?)"
        ),
        "event": f"SELECT is_active FROM {event} WHERE id = ? AND project_id = ?",
        "own_record": (
            f"SELECT id FROM {record} WHERE project_id = ? AND received_at = ? AND ingest_tag = ?"
        ),
        "insert_record": (
            f"INSERT INTO {record} ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) RETURNING id"
        ),
        "queue_record": (
            f"INSERT INTO {delivery} ({DELIVERY_COLUMNS.format(target='event_record_id')}) "
            f"SELECT c.id, 'event', ?, {_PENDING} FROM {channel} c "
            f"JOIN {channel_events} ce ON ce.channel_id = c.id "
            "WHERE ce.event_id = ? AND c.is_active"
        ),
    }


def _db_time(value: dt.datetime) -> str:
    # Django stores aware datetimes on SQLite as naive UTC text.
    return str(connection.ops.adapt_datetimefield_value(value))


def _values(row: tuple[Any, ...], columns: tuple[str, ...]) -> list[Any]:
    values = list(row)
    for n, name in enumerate(columns):
        if name in JSON_COLUMNS:
            values[n] = orjson.dumps(values[n]).decode()
        elif name == "received_at":
            values[n] = _db_time(values[n])
    return values


_INT64 = 2**63


def _number(value: int) -> int | str:
    # sqlite3 binds Python ints of 64 bits only; a larger sum goes in as text, which the
    # column's numeric affinity stores as floating point (tally.py's models say so).
    return value if -_INT64 <= value < _INT64 else str(value)


@dataclass(slots=True)
class _Usage:
    used: int
    limit: int
    counted: int = 0  # orders this batch added


def crossed_thresholds(used: int, limit: int) -> list[int]:
    """The warning thresholds (percent) that the order making `used` crossed."""
    return [t for t in LIMIT_THRESHOLDS if (used - 1) * 100 < limit * t <= used * 100]


class _Batch:
    """One transaction's worth of items, decided in arrival order."""

    def __init__(self, cur: sqlite3.Cursor, retry: bool) -> None:
        self.cur = cur
        self.retry = retry
        self.sql = _sql()
        self.keys: dict[tuple[int, int], bool] = {}
        self.usage: dict[tuple[int, dt.date], _Usage | None] = {}
        # The batch's tallies (orderreport/tally.py), summed per key, appended at the end.
        self.order_tallies: dict[tuple[Any, ...], list[int]] = {}
        self.product_tallies: dict[tuple[Any, ...], list[int]] = {}
        self.record_tallies: dict[tuple[Any, ...], int] = {}

    def one(self, name: str, params: Sequence[Any]) -> Any:
        return self.cur.execute(self.sql[name], params).fetchone()

    def key_ok(self, key_id: int | None, project_id: int) -> bool:
        if key_id is None:  # a form post: the event admits it
            return True
        ok = self.keys.get((key_id, project_id))
        if ok is None:
            ok = self.keys[key_id, project_id] = (
                self.one("key_ok", (key_id, project_id)) is not None
            )
        return ok

    def usage_of(self, item: OrderItem) -> _Usage | None:
        pair = (item.account_id, item.period_start)
        if pair not in self.usage:
            limit = self.one("limit", (item.account_id,))
            used = self.one("used", (item.account_id, item.period_start.isoformat()))
            self.usage[pair] = None if limit is None else _Usage(used[0] if used else 0, limit[0])
        return self.usage[pair]

    def order(self, item: OrderItem) -> Result:
        row = item.row
        known = self.one("known_order", (row.project_id, row.external_id))
        if known is not None and known[1] == row.ingest_tag:
            return Result(Outcome.CREATED, known[0])
        usage = self.usage_of(item)
        if usage is None or not self.key_ok(item.key_id, row.project_id):
            return Result(Outcome.KEY_GONE)
        # Rule "test": the dashboard's test order checks the integration, not the quota.
        if usage.used >= usage.limit and not row.is_test:
            if known is None:  # held, once: a held copy stays as it came first
                self.cur.execute(
                    self.sql["hold"],
                    (item.account_id, item.period_start.isoformat(),
                     _db_time(item.hold_until(settings.HELD_ORDER_DAYS)),
                     *_values(row, ORDER_COLUMNS)[: len(HELD_COLUMNS)]),
                )  # fmt: skip
            return Result(Outcome.LIMIT_REACHED)
        if known is not None:
            return Result(Outcome.DUPLICATE)
        (order_id,) = self.one("insert_order", _values(row, ORDER_COLUMNS))
        # A retry once there is room, or a release: the held copy is taken, not duplicated.
        self.cur.execute(self.sql["take_held"], (row.project_id, row.external_id))
        at = _db_time(row.received_at)
        self.cur.execute(self.sql["queue_order"], (order_id, at, at, row.project_id))
        if row.is_test:  # notified, but neither counted nor tallied
            return Result(Outcome.CREATED, order_id)
        usage.used += 1
        usage.counted += 1
        self.tally_order(row)
        for threshold in crossed_thresholds(usage.used, usage.limit):
            warning = self.one(
                "warn",
                (item.account_id, item.period_start.isoformat(), threshold, usage.used,
                 usage.limit, at),
            )  # fmt: skip
            if warning is not None:  # else: warned already this period
                self.cur.execute(
                    self.sql["queue_warning"], (warning[0], at, at, item.account_id,
                                                warning[0], at, at)
                )  # fmt: skip
        return Result(Outcome.CREATED, order_id)

    def event(self, item: EventItem) -> Result:
        row = item.row
        if self.retry:
            own = self.one("own_record", (row.project_id, _db_time(row.received_at),
                                          row.ingest_tag))  # fmt: skip
            if own is not None:
                return Result(Outcome.CREATED, own[0])
        if not self.key_ok(item.key_id, row.project_id):
            return Result(Outcome.KEY_GONE)
        event = self.one("event", (row.event_id, row.project_id))
        if event is None:
            return Result(Outcome.EVENT_GONE)
        if not event[0]:
            return Result(Outcome.EVENT_INACTIVE)
        (record_id,) = self.one("insert_record", _values(row, EVENT_COLUMNS))
        if row.spam:  # kept, flagged, neither counted nor notified
            return Result(Outcome.CREATED, record_id)
        key = (row.project_id, row.event_id, tally.slot_of(row.received_at))
        self.record_tallies[key] = self.record_tallies.get(key, 0) + 1
        at = _db_time(row.received_at)
        self.cur.execute(self.sql["queue_record"], (record_id, at, at, row.event_id))
        return Result(Outcome.CREATED, record_id)

    def tally_order(self, row: OrderRow) -> None:
        # A new order is `new`: counted, so its product lines count too.
        lines = product_lines(row.products)
        slot = tally.slot_of(row.received_at)
        acc = self.order_tallies.setdefault((row.project_id, slot, row.currency), [0, 0, 0])
        acc[0] += 1
        acc[1] += row.total
        acc[2] += sum(count for _name, count, _revenue in lines)
        day = row.received_at.astimezone(dt.UTC).date().isoformat()
        for name, count, revenue in lines:
            p = self.product_tallies.setdefault((row.project_id, day, row.currency, name), [0, 0])
            p[0] += count
            p[1] += revenue

    def write_tallies(self) -> None:
        self.cur.executemany(
            self.sql["tally_order"],
            [(*key, *map(_number, sums)) for key, sums in self.order_tallies.items()],
        )
        self.cur.executemany(
            self.sql["tally_product"],
            [(*key, *map(_number, sums)) for key, sums in self.product_tallies.items()],
        )
        self.cur.executemany(
            self.sql["tally_record"], [(*key, n) for key, n in self.record_tallies.items()]
        )

    def run(self, items: Sequence[Item]) -> list[Result]:
        results = [self.order(i) if isinstance(i, OrderItem) else self.event(i) for i in items]
        self.write_tallies()
        for (account_id, period_start), usage in self.usage.items():
            if usage is not None and usage.counted:
                self.cur.execute(
                    self.sql["count"], (account_id, period_start.isoformat(), usage.used)
                )
        return results


class SqliteBackend:
    # The lock is the whole database's: retrying account by account would only wait again.
    row_locks = False

    def classify(self, exc: BaseException) -> str:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause):
            # Another process held the database's write lock for the whole busy timeout.
            return writer.LOCK_TIMEOUT
        return writer.OTHER

    def prepare_connection(self, db: Any) -> None:
        if db.connection is None:
            with db.wrap_database_errors:
                db.ensure_connection()
                # Another process writing (the worker, a second server) holds the write lock
                # for milliseconds; waiting for it is bounded like PostgreSQL's lock_timeout.
                raw: Any = db.connection
                raw.execute(f"PRAGMA busy_timeout = {int(settings.INGEST_LOCK_TIMEOUT_MS):d}")

    def run_batch(self, db: Any, items: Sequence[Item], retry: bool) -> list[Result]:
        with db.wrap_database_errors, transaction.atomic(using=db.alias):
            return _Batch(db.connection.cursor(), retry).run(items)

    def run_in_transaction(self, items: Sequence[Item], retry: bool) -> list[Result]:
        with connection.wrap_database_errors, transaction.atomic():
            connection.ensure_connection()
            raw: Any = connection.connection
            return _Batch(raw.cursor(), retry).run(items)


BACKEND = SqliteBackend()
