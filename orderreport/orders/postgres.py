"""PostgreSQL's path for recording orders: group commit, two statements, exact quota.

Every order of an account goes through the same `accounts_usage` row, and a durable commit
costs a disk flush. Recording orders one transaction each (the generic path) made every order
of an account queue on that row's lock across a flush, and cost PostgreSQL a parse, a plan and
a commit per order. So the orders of one web process are committed in groups (GroupCommit
below): each order's request thread hands its row to one committer thread and waits; the
committer sends every order that arrived while the previous group was being committed as one
transaction in one round trip, and wakes each thread with its own outcome. Under load a group
holds as many orders as the process has threads in flight; a lone order is a group of one, so
nothing waits for a timer.

The transaction, one pipeline of prepared statements:

1. `lock`: upsert the usage rows of the group's (account, period) pairs in a fixed order,
   which takes their row locks. From here until the commit no other transaction can count an
   order of these accounts, so what the next statement reads is what the quota is.
2. `record`: a single statement over the whole group (a JSON array). In arrival order, per
   account and period, an order is a duplicate if its id is already stored or came earlier in
   the group; the first `limit - used` orders that are not duplicates are inserted; the rest
   get 402, and a duplicate gets 402 if the limit was already reached at its place in the
   group, else 409 (the contract checks the limit before the id). The usage rows grow by what
   was inserted, and the outbox (notifications, limit warnings) is written in the same
   statement.
3. The commit, with `synchronous_commit = off`, releases the usage rows as soon as the commit
   record is written; the last statement is a tiny transaction that takes a transaction id and
   commits with the server's own setting, which flushes the WAL up to and including our commit.
   Only after that answer does any order of the group get its 201: an accepted order is on
   disk, and concurrent groups share flushes.

If a group fails as a whole (an order whose project was deleted a moment ago, a deadlock), its
orders are retried one by one, so a bad order fails alone. If it waited too long for a usage
row locked elsewhere, it is retried account by account, and that account's orders fail
together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import select
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from psycopg.pq import TransactionStatus

from orderreport.accounts.models import Account, Plan, Usage
from orderreport.notify.outbox import outbox_ctes
from orderreport.orders.models import Order
from orderreport.orders.services import UNLIMITED, OrderResult, Outcome
from orderreport.projects.models import Project

log = logging.getLogger(__name__)

# One order of a group, as the `record` statement reads it from JSON: the keys and their
# SQL types. The short keys keep the JSON small; `s` is the order's place in the group.
_FIELDS = (
    ("s", "int"),
    ("a", "bigint"),
    ("ps", "date"),
    ("p", "bigint"),
    ("x", "text"),
    ("t", "bigint"),
    ("c", "text"),
    ("u", "text"),
    ("e", "text"),
    ("ph", "text"),
    ("pr", "jsonb"),
    ("d", "jsonb"),
    ("o", "text"),
    ("ip", "inet"),
    ("ua", "text"),
    ("r", "timestamptz"),
)
# The order's columns in the order of services.record_order's `row`.
_ROW_KEYS = ("p", "x", "t", "c", "u", "e", "ph", "pr", "d", "o", "ip", "ua", "r")
_ORDER_COLUMNS = (
    "project_id, external_id, total, currency, username, email, phone, products, data, "
    "origin, client_ip, user_agent, received_at"
)


@dataclass(frozen=True, slots=True)
class PendingOrder:
    account_id: int
    period_start: dt.date
    row: tuple[Any, ...]  # the order's columns, products and data as Python lists


# Every lookup below is written as a LATERAL subquery on its key. The statements are
# prepared once per connection and planned once, often while the tables are empty and never
# analysed (a new instance, a new shop); written as plain joins, such a plan may hash a whole
# table (every order of the project, every account) per group, which grows with the data.
# A LATERAL lookup with OFFSET 0 (which keeps the planner from flattening it into a join) can
# only be run as a probe per row of the group. Not LIMIT 1: costed as "the first row will do",
# any index starting with the project looked as cheap as the unique one.


@cache
def _lock_sql(param: str) -> str:
    """Statement 1: lock the group's usage rows, in (account, period) order (no deadlocks)."""
    usage, account = Usage._meta.db_table, Account._meta.db_table
    return (
        f"INSERT INTO {usage} AS u (account_id, period_start, used) "
        "SELECT k.account_id, (e->>1)::date, 0 "
        f"FROM json_array_elements({param}) e CROSS JOIN LATERAL ("
        f"SELECT a.id AS account_id FROM {account} a WHERE a.id = (e->>0)::bigint OFFSET 0) k "
        "ORDER BY 1, 2 "
        # `WHERE false` updates nothing yet still locks the existing row (PostgreSQL's INSERT
        # documentation): no dead row version per group on the hottest row of the database.
        "ON CONFLICT (account_id, period_start) DO UPDATE SET used = u.used WHERE false"
    )


@cache
def _record_sql(param: str) -> str:
    """Statement 2: the group's orders, their quota and their outbox (see the module doc)."""
    order, usage = Order._meta.db_table, Usage._meta.db_table
    account, plan = Account._meta.db_table, Plan._meta.db_table
    project = Project._meta.db_table
    columns = ", ".join(f"{name} {kind}" for name, kind in _FIELDS)
    return (
        f"WITH b AS (SELECT * FROM json_to_recordset({param}) AS b({columns})), "
        "lim AS (SELECT ba.a AS id, l.n FROM (SELECT DISTINCT b.a FROM b) ba "
        f"CROSS JOIN LATERAL (SELECT COALESCE(pl.monthly_order_limit, {UNLIMITED}) AS n "
        f"FROM {account} a JOIN {plan} pl ON pl.id = a.plan_id WHERE a.id = ba.a OFFSET 0) l), "
        # `fresh`: not stored yet and the first of its id in the group. `room`: what the
        # plan still allows, read under the lock statement 1 took.
        "placed AS (SELECT b.*, GREATEST(lim.n - us.used, 0) AS room, "
        "(known.hit IS NULL "
        "AND row_number() OVER (PARTITION BY b.p, b.x ORDER BY b.s) = 1) AS fresh "
        "FROM b JOIN lim ON lim.id = b.a "
        f"CROSS JOIN LATERAL (SELECT u.used FROM {usage} u "
        "WHERE u.account_id = b.a AND u.period_start = b.ps OFFSET 0) us "
        f"CROSS JOIN LATERAL (SELECT 1 FROM {project} pj WHERE pj.id = b.p OFFSET 0) pj "
        f"LEFT JOIN LATERAL (SELECT 1 AS hit FROM {order} o "
        "WHERE o.project_id = b.p AND o.external_id = b.x OFFSET 0) known ON true), "
        # `ahead`: fresh orders of the same account and period earlier in the group, each of
        # which takes a unit of quota before this one.
        "ordered AS (SELECT pl.*, count(*) FILTER (WHERE pl.fresh) OVER (PARTITION BY pl.a, pl.ps "
        "ORDER BY pl.s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS ahead FROM placed pl), "
        "accepted AS (SELECT * FROM ordered WHERE fresh AND ahead < room), "
        # DO NOTHING only matters if something wrote an order without the usage lock (a shell,
        # the admin): such an order is then answered as the duplicate it is.
        f"stored AS (INSERT INTO {order} ({_ORDER_COLUMNS}) "
        f"SELECT {', '.join(_ROW_KEYS)} FROM accepted ORDER BY s "
        "ON CONFLICT (project_id, external_id) DO NOTHING "
        "RETURNING id, project_id, external_id, received_at), "
        "gained AS (SELECT ac.a, ac.ps, count(*) AS k FROM stored st "
        "JOIN accepted ac ON ac.p = st.project_id AND ac.x = st.external_id "
        "GROUP BY ac.a, ac.ps), "
        f"counted AS (UPDATE {usage} u SET used = u.used + g.k FROM gained g "
        "WHERE u.account_id = g.a AND u.period_start = g.ps "
        "RETURNING u.account_id, u.period_start, u.used, u.used - g.k AS was), "
        # The notifications ride in the same statement (the outbox, notify/outbox.py).
        f"{outbox_ctes()} "
        "SELECT od.s, st.id, od.ahead < od.room FROM ordered od "
        "LEFT JOIN stored st ON od.fresh AND od.ahead < od.room "
        "AND st.project_id = od.p AND st.external_id = od.x"
    )


def _group_json(orders: Sequence[PendingOrder]) -> tuple[str, str]:
    """The two statements' parameters: the (account, period) pairs and the orders."""
    pairs = sorted({(o.account_id, o.period_start) for o in orders})
    items = []
    for n, o in enumerate(orders):
        item = dict(zip(_ROW_KEYS, o.row, strict=True))
        item.update(s=n, a=o.account_id, ps=o.period_start)
        items.append(item)
    return orjson.dumps(pairs).decode(), orjson.dumps(items).decode()


def _outcomes(count: int, rows: Sequence[tuple[Any, ...]]) -> list[OrderResult]:
    # An order missing from the answer lost its account or project since its key was read
    # (deleted a moment ago): its key is no longer valid.
    results = [OrderResult(Outcome.GONE)] * count
    for seq, order_id, room_left in rows:
        if order_id is not None:
            results[seq] = OrderResult(Outcome.CREATED, order_id)
        elif room_left:
            results[seq] = OrderResult(Outcome.DUPLICATE)
        else:
            results[seq] = OrderResult(Outcome.LIMIT_REACHED)
    return results


def record_order(account_id: int, period_start: dt.date, row: tuple[Any, ...]) -> OrderResult:
    """Record an order; `row` holds the order's columns in the INSERT's order."""
    order = PendingOrder(account_id, period_start, row)
    db = connections[DEFAULT_DB_ALIAS]
    # get_autocommit() would open this thread's connection, which the order path never
    # needs otherwise: without one, the thread is in no transaction.
    if db.in_atomic_block or (db.connection is not None and not db.get_autocommit()):
        # Inside someone's transaction (a test, a data import): that transaction decides when
        # the order commits, so only the statements are shared.
        return record_in_transaction([order])[0]
    return _committer().submit(order)


def record_in_transaction(orders: Sequence[PendingOrder]) -> list[OrderResult]:
    """Record a group inside the caller's transaction (Django's connection of this thread)."""
    pairs, items = _group_json(orders)
    # A savepoint: a failing group leaves the caller's transaction usable.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_lock_sql("%s::json"), [pairs])
        cursor.execute(_record_sql("%s::json"), [items])
        rows = cursor.fetchall()
    return _outcomes(len(orders), rows)


# --- Group commit ----------------------------------------------------------------------------

_LOCK = "orderreport_lock_usage"
_RECORD = "orderreport_record_orders"
# lock_timeout: one committer serves every tenant of the process, so a usage row held for
# long elsewhere (an account being deleted with all its orders) must not stall the others'
# orders behind it. The group then fails and is retried account by account: only the orders
# of the locked account fail (503, the client retries), each group costing two timeouts.
LOCK_TIMEOUT_MS = 2000
_ONE_ROUND_TRIP = (
    "BEGIN; SET LOCAL synchronous_commit TO off; SET LOCAL lock_timeout TO %s; "
    f"EXECUTE {_LOCK}(%s); EXECUTE {_RECORD}(%s); "
    "COMMIT; SELECT pg_current_xact_id()"
)
# Prepared once per connection (psycopg's own cache does not apply to multi-statement strings).
# A PREPAREd statement lives in one server session: this needs a direct connection or a
# pooler in session mode (PgBouncer's transaction mode would lose it between transactions).
# Connection -> [when its statements were prepared, groups run since]. PostgreSQL plans a
# prepared statement once; a plan made while a new instance's tables were empty and never
# analysed (any index of the project looked as good as the unique one) must not outlive their
# first rows. So the statements are prepared again after 10, 100 and 1,000 groups, and then
# every REPLAN_SECONDS, which costs one planning each time.
_prepared_on: weakref.WeakKeyDictionary[psycopg.Connection[Any], list[float]] = (
    weakref.WeakKeyDictionary()
)
REPLAN_SECONDS = 30.0
_REPLAN_AFTER_GROUPS = (10, 100, 1000)

MAX_GROUP = 256  # orders per transaction; more wait for the next one
IDLE_SECONDS = 30.0  # the committer closes its database connection after this long idle
WAIT_SECONDS = 60.0  # a request gives up on its order's commit after this long (503)


class _Waiter:
    """One request's order and, once committed, its outcome (or the error that stopped it)."""

    __slots__ = ("done", "error", "order", "result")

    def __init__(self, order: PendingOrder) -> None:
        self.order = order
        self.result: OrderResult | None = None
        self.error: BaseException | None = None
        # A bare lock is the cheapest thing a thread can sleep on until another releases it.
        self.done = threading.Lock()
        self.done.acquire()


class GroupCommit:
    """The committer thread of this process and the queue of orders waiting for it."""

    def __init__(self) -> None:
        self._queue: list[_Waiter] = []
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, order: PendingOrder) -> OrderResult:
        """Record one order with whatever else is waiting; returns once it is on disk."""
        waiter = _Waiter(order)
        with self._wake:
            if self._thread is None:
                self._start()
            self._queue.append(waiter)
            self._wake.notify()
        if not waiter.done.acquire(timeout=WAIT_SECONDS):
            # The database is stuck (a lock held elsewhere, a hung connection): answer 503.
            # The order may still commit later; the client's retry then gets 409.
            raise DatabaseError(f"the order was not committed within {WAIT_SECONDS:g} s")
        if waiter.error is not None:
            raise waiter.error
        assert waiter.result is not None
        return waiter.result

    def stop(self) -> None:
        """Finish what is queued, close the connection and end the thread (tests, shutdown)."""
        with self._wake:
            thread, self._stopping = self._thread, True
            self._wake.notify()
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        db = connections[DEFAULT_DB_ALIAS]  # this thread's own connection
        try:
            while True:
                with self._wake:
                    while not self._queue and not self._stopping:
                        if not self._wake.wait(timeout=IDLE_SECONDS) and not self._queue:
                            # Idle: give the server its connection back until orders return.
                            db.close()
                    if not self._queue:
                        # Stopping: from here on, a new order starts a new thread.
                        self._thread = None
                        return
                    group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                try:
                    self._commit(db, group)
                except BaseException as exc:  # a bug must not leave requests waiting
                    log.exception("the group committer failed")
                    for waiter in group:
                        if waiter.result is None and waiter.error is None:
                            waiter.error = exc
                            waiter.done.release()
        finally:
            with self._wake:
                if self._thread is threading.current_thread():
                    # Died with orders queued (the loop above only returns when stopping
                    # with an empty queue): a successor takes them over.
                    self._thread = None
                    if self._queue:
                        self._start()
            db.close()

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="orderreport-group-commit", daemon=True
        )
        self._thread.start()

    def _commit(self, db: Any, group: list[_Waiter]) -> None:
        try:
            results = self._execute(db, [w.order for w in group])
        except BaseException as exc:
            if _lock_timed_out(exc):
                # A usage row locked elsewhere: the other accounts' orders go again without
                # it, that account's orders fail together (each alone would wait again).
                accounts: dict[int, list[_Waiter]] = {}
                for waiter in group:
                    accounts.setdefault(waiter.order.account_id, []).append(waiter)
                if len(accounts) > 1:
                    for part in accounts.values():
                        self._commit(db, part)
                    return
            elif len(group) > 1:
                log.warning("a group of %d orders failed (%s); retrying each", len(group), exc)
                for waiter in group:
                    self._commit(db, [waiter])
                return
            for waiter in group:
                waiter.error = exc
                waiter.done.release()
            return
        for waiter, result in zip(group, results, strict=True):
            waiter.result = result
            waiter.done.release()

    def _execute(self, db: Any, orders: list[PendingOrder]) -> list[OrderResult]:
        pairs, items = _group_json(orders)
        raw_before = db.connection
        if raw_before is not None and (
            raw_before.closed or raw_before.broken or _dropped_while_idle(raw_before)
        ):
            db.close()  # connect afresh
        with db.wrap_database_errors:
            db.ensure_connection()
            raw: psycopg.Connection[Any] = db.connection
            try:
                _ensure_prepared(raw)
                cur = raw.cursor()
                try:
                    cur.execute(_ONE_ROUND_TRIP, (f"{LOCK_TIMEOUT_MS}ms", pairs, items))
                except psycopg.errors.InvalidSqlStatementName:
                    # Someone ran DISCARD ALL / DEALLOCATE on this connection: prepare again.
                    _rollback(raw)
                    _prepared_on.pop(raw, None)
                    _ensure_prepared(raw)
                    cur.execute(_ONE_ROUND_TRIP, (f"{LOCK_TIMEOUT_MS}ms", pairs, items))
            except BaseException:
                _rollback(raw)
                raise
            # Results: BEGIN, SET, SET, lock, record (one row per order), COMMIT, the flush.
            for _ in range(4):
                cur.nextset()
            rows = cur.fetchall()
        return _outcomes(len(orders), rows)


def _lock_timed_out(exc: BaseException) -> bool:
    """True if the group waited lock_timeout for a row: every order of that account would."""
    return isinstance(exc.__cause__, psycopg.errors.LockNotAvailable)


def _dropped_while_idle(raw: psycopg.Connection[Any]) -> bool:
    """True if the server has ended this idle session (a restart, an idle timeout, an admin).

    An idle connection has nothing to read; a readable socket holds the server's farewell (or
    its end). Checked before each group, so that no order fails for a connection lost while
    nobody was using it; a connection lost during a group fails that group, since its commit
    may have happened.
    """
    try:
        readable, _, _ = select.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def _ensure_prepared(raw: psycopg.Connection[Any]) -> None:
    prepared = _prepared_on.get(raw)
    now = time.monotonic()
    if prepared is not None:
        prepared[1] += 1
        if now - prepared[0] < REPLAN_SECONDS and prepared[1] not in _REPLAN_AFTER_GROUPS:
            return
        for name in (_LOCK, _RECORD):
            with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
                raw.execute(f"DEALLOCATE {name}")  # gone already after a DISCARD ALL
    _analyse_if_unknown(raw)
    raw.execute(f"PREPARE {_LOCK}(json) AS {_lock_sql('$1')}")
    raw.execute(f"PREPARE {_RECORD}(json) AS {_record_sql('$1')}")
    _prepared_on[raw] = [now, prepared[1] if prepared else 0]


# Up to 4 MB (several thousand orders) an ANALYZE takes a few milliseconds. Past that it would
# hold up a group noticeably (and show in the p99), and the statistics taken so far (or
# autovacuum's, whose ANALYZE also makes the committer plan again) are enough for a choice
# between a project's indexes.
_ANALYSE_BELOW_PAGES = 512


def _analyse_if_unknown(raw: psycopg.Connection[Any]) -> None:
    """ANALYZE the order table if PostgreSQL knows nothing, or nothing current, about it.

    Without statistics, every index that starts with the project looks as good as the unique
    (project, id) one for the duplicate check, and the plan may walk all of a project's orders
    for each new one. Autovacuum analyses the table soon enough on its own schedule; this
    covers a new instance's first minutes, while the table is small and quick to analyse.
    """
    table = Order._meta.db_table
    # The table's size on disk is current; its statistics date from the last ANALYZE.
    row = raw.execute(
        "SELECT c.reltuples < 0 OR (c.relpages < %s AND pg_relation_size(c.oid) > "
        "(2 * c.relpages + 8) * current_setting('block_size')::bigint) "
        "FROM pg_class c WHERE c.oid = %s::regclass",
        [_ANALYSE_BELOW_PAGES, table],
    ).fetchone()
    if row and row[0]:
        raw.execute(f"ANALYZE {table}")


def _rollback(raw: psycopg.Connection[Any]) -> None:
    """Leave the connection idle for the next group, whatever went wrong."""
    if raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        # A broken connection fails here too: the next group's check replaces it.
        with contextlib.suppress(psycopg.Error):
            raw.execute("ROLLBACK")


_committers: dict[int, GroupCommit] = {}
_committers_lock = threading.Lock()


def _committer() -> GroupCommit:
    # Keyed by process id: a forked server process must start its own thread.
    pid = os.getpid()
    committer = _committers.get(pid)
    if committer is None:
        with _committers_lock:
            committer = _committers.setdefault(pid, GroupCommit())
    return committer


def stop_group_commit() -> None:
    """Stop this process's committer thread (it starts again with the next order)."""
    committer = _committers.get(os.getpid())
    if committer is not None:
        committer.stop()
