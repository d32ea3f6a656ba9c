"""PostgreSQL's statements for the recording rules (ingest/__init__.py): set-based, one round trip.

Every order of an account goes through the same `accounts_usage` row, and a durable commit
costs a disk flush; so a batch (writer.py) is one transaction of prepared statements sent in
one round trip:

1. `lock` (orders): upsert the usage rows of the batch's (account, period) pairs in a fixed
   order, which takes their row locks. From here until the commit no other transaction can
   count an order of these accounts, so what the next statement reads is what the quota is.
2. `orders`: one statement over the whole batch (a JSON array of rows). Per account and
   period, in arrival order, it applies the rules: own row, key gone, limit, duplicate,
   record; grows the usage rows by what it inserted; writes the outbox deliveries and the
   limit warnings (the `queued`, `warned`, `warned_queue` parts below).
3. `events`: the same for event records (own row, key gone, event gone or inactive, record,
   outbox).
4. The commit, with `synchronous_commit = off`, releases the usage rows as soon as the commit
   record is written; the last statement is a tiny transaction that takes a transaction id and
   commits with the server's own setting, which flushes the WAL up to and including ours.
   Only after that answer does any item get its 201: an accepted order is on disk, and
   concurrent batches share flushes.

Every lookup is written as a LATERAL subquery on its key with OFFSET 0. The statements are
prepared once per connection and planned once, often while the tables are empty and never
analysed (a new instance, a new shop); written as plain joins, such a plan may hash a whole
table per batch. A LATERAL lookup with OFFSET 0 (which keeps the planner from flattening it
into a join) can only run as a probe per row. Not LIMIT 1: costed as "the first row will do",
any index starting with the project looked as cheap as the unique one.

Everything the writer's connection runs (PREPARE, ANALYZE, the size probe, the batch) is under
the session's lock_timeout and statement_timeout: a table locked by a migration or VACUUM FULL
costs a batch at most those, never the lock's whole duration.
"""

from __future__ import annotations

import contextlib
import select
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction
from psycopg.pq import TransactionStatus

from orderreport.accounts.models import Account, HeldOrder, Plan, Usage
from orderreport.events.models import EventRecord, EventTally
from orderreport.ingest import writer
from orderreport.ingest.rows import (
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    HELD_COLUMNS,
    LIMIT_THRESHOLDS,
    ORDER_COLUMNS,
    UNLIMITED,
    EventItem,
    Item,
    OrderItem,
    Outcome,
    Result,
)
from orderreport.notify.models import Channel, Delivery, LimitWarning
from orderreport.orders.models import Order, OrderTally, ProductTally
from orderreport.projects.models import ApiKey, Event, Project

# SQL types of the rows' columns, as json_to_recordset reads them.
_TYPES = {
    "project_id": "bigint",
    "external_id": "text",
    "total": "bigint",
    "currency": "text",
    "username": "text",
    "email": "text",
    "phone": "text",
    "products": "jsonb",
    "data": "jsonb",
    "origin": "text",
    "client_ip": "inet",
    "user_agent": "text",
    "received_at": "timestamptz",
    "ingest_tag": "bigint",
    "event_id": "bigint",
    "spam": "boolean",
    "spam_reason": "text",
    "is_test": "boolean",
}
# What an item carries besides its row: its place in the batch, and what the rules check.
_ORDER_EXTRA = (("s", "int"), ("account_id", "bigint"), ("period_start", "date"),
                ("key_id", "bigint"), ("hold_until", "timestamptz"))  # fmt: skip
_EVENT_EXTRA = (("s", "int"), ("key_id", "bigint"))


# The quarter-hour slot of a timestamp, as tally.slot_of() computes it.
QUARTER_HOUR = "floor(extract(epoch FROM {at}) / 900)::bigint"
# An order's product lines (validated objects; an order without products has none).
_LINES = (
    "jsonb_array_elements(CASE jsonb_typeof(k.products) WHEN 'array' THEN k.products "
    "ELSE '[]'::jsonb END) p"
)


def _recordset(extra: tuple[tuple[str, str], ...], columns: tuple[str, ...]) -> str:
    return ", ".join(
        f"{name} {kind}" for name, kind in (*extra, *((c, _TYPES[c]) for c in columns))
    )


@cache
def lock_sql(param: str) -> str:
    """Statement 1: lock the batch's usage rows, in (account, period) order (no deadlocks)."""
    usage, account = Usage._meta.db_table, Account._meta.db_table
    return (
        f"INSERT INTO {usage} AS u (account_id, period_start, used) "
        "SELECT k.account_id, (e->>1)::date, 0 "
        f"FROM json_array_elements({param}) e CROSS JOIN LATERAL ("
        f"SELECT a.id AS account_id FROM {account} a WHERE a.id = (e->>0)::bigint OFFSET 0) k "
        "ORDER BY 1, 2 "
        # `WHERE false` updates nothing yet still locks the existing row (PostgreSQL's INSERT
        # documentation): no dead row version per batch on the hottest row of the database.
        "ON CONFLICT (account_id, period_start) DO UPDATE SET used = u.used WHERE false"
    )


@cache
def orders_sql(param: str) -> str:
    """Statement 2: the batch's orders, their quota, their outbox and warnings."""
    order, usage = Order._meta.db_table, Usage._meta.db_table
    account, plan = Account._meta.db_table, Plan._meta.db_table
    key = ApiKey._meta.db_table
    delivery, channel = Delivery._meta.db_table, Channel._meta.db_table
    project = Project._meta.db_table
    warning = LimitWarning._meta.db_table
    order_tally, product_tally = OrderTally._meta.db_table, ProductTally._meta.db_table
    held = HeldOrder._meta.db_table
    thresholds = ", ".join(f"({t})" for t in LIMIT_THRESHOLDS)
    columns = ", ".join(ORDER_COLUMNS)
    return (
        f"WITH b AS (SELECT * FROM json_to_recordset({param}) "
        f"AS b({_recordset(_ORDER_EXTRA, ORDER_COLUMNS)})), "
        "lim AS (SELECT ba.account_id AS id, l.n FROM (SELECT DISTINCT b.account_id FROM b) ba "
        f"CROSS JOIN LATERAL (SELECT COALESCE(pl.monthly_order_limit, {UNLIMITED}) AS n "
        f"FROM {account} a JOIN {plan} pl ON pl.id = a.plan_id "
        "WHERE a.id = ba.account_id OFFSET 0) l), "
        # `own`: this very item stored by an attempt whose commit went unanswered. `fresh`: not
        # stored yet and the first of its id in the batch. `room`: what the plan still
        # allows, read under the lock statement 1 took; for a test order, no limit (rule
        # "test": it checks the integration, not the quota).
        "checked AS (SELECT b.*, CASE WHEN b.is_test THEN "
        f"{UNLIMITED} ELSE GREATEST(lim.n - us.used, 0) END AS room, known.id AS known_id, "
        "COALESCE(known.ingest_tag = b.ingest_tag, false) AS own, "
        # No key: a held order released by a plan change (ingest/held.py).
        "(b.key_id IS NULL OR kk.ok IS NOT NULL) AS key_ok "
        "FROM b JOIN lim ON lim.id = b.account_id "
        f"CROSS JOIN LATERAL (SELECT u.used FROM {usage} u "
        "WHERE u.account_id = b.account_id AND u.period_start = b.period_start OFFSET 0) us "
        f"LEFT JOIN LATERAL (SELECT 1 AS ok FROM {key} k WHERE k.id = b.key_id "
        "AND k.project_id = b.project_id AND k.is_active OFFSET 0) kk ON true "
        f"LEFT JOIN LATERAL (SELECT o.id, o.ingest_tag FROM {order} o "
        "WHERE o.project_id = b.project_id AND o.external_id = b.external_id OFFSET 0) known "
        "ON true), "
        # `fresh`: not stored yet, and the first of its id in the batch among the copies that
        # could be stored (a copy refused for its key or for a full period is no original).
        # Not exact in one corner: two copies in different periods where the first period's
        # room runs out inside the batch; SQLite's item-by-item path is.
        "placed AS (SELECT c.*, (c.known_id IS NULL AND c.key_ok AND c.room > 0 "
        "AND row_number() OVER (PARTITION BY c.project_id, c.external_id, "
        "(c.key_ok AND c.room > 0) ORDER BY c.s) = 1) AS fresh FROM checked c), "
        # `ahead`: fresh orders of the same account and period earlier in the batch, each of
        # which takes a unit of quota before this one (a test order takes none).
        "ordered AS (SELECT pl.*, count(*) FILTER (WHERE pl.fresh AND NOT pl.is_test) "
        "OVER (PARTITION BY pl.account_id, pl.period_start ORDER BY pl.s "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS ahead FROM placed pl), "
        "accepted AS (SELECT * FROM ordered WHERE fresh AND ahead < room), "
        # DO NOTHING only matters if something wrote an order without the usage lock (a shell,
        # the admin): such an order is then answered as the duplicate it is.
        f"stored AS (INSERT INTO {order} ({columns}) SELECT {columns} FROM accepted ORDER BY s "
        "ON CONFLICT (project_id, external_id) DO NOTHING "
        "RETURNING id, project_id, external_id, received_at), "
        # Rule "limit" holds the order: the first copy of an id that is neither stored nor
        # stored by this batch (a later copy in a period with room), once (a held copy stays).
        f"held AS (INSERT INTO {held} (account_id, period_start, expires_at, "
        f"{', '.join(HELD_COLUMNS)}) "
        f"SELECT DISTINCT ON (od.project_id, od.external_id) od.account_id, od.period_start, "
        f"od.hold_until, {', '.join('od.' + c for c in HELD_COLUMNS)} FROM ordered od "
        "WHERE od.key_ok AND od.known_id IS NULL AND od.ahead >= od.room "
        "AND NOT EXISTS (SELECT 1 FROM accepted ac WHERE ac.project_id = od.project_id "
        "AND ac.external_id = od.external_id) ORDER BY od.project_id, od.external_id, od.s "
        "ON CONFLICT (project_id, external_id) DO NOTHING), "
        # Rule "record" takes the held copy of what it stored (a retry once there is room, a
        # release). The held table is small and usually empty: no lookup per row needed.
        f"taken AS (DELETE FROM {held} h USING stored st "
        "WHERE h.project_id = st.project_id AND h.external_id = st.external_id), "
        # `kept`: each stored order's accepted row (materialised once: read three times), but
        # test orders: they count neither against the plan nor in the tallies.
        "kept AS (SELECT ac.* FROM stored st JOIN accepted ac "
        "ON ac.project_id = st.project_id AND ac.external_id = st.external_id "
        "WHERE NOT ac.is_test), "
        # `k`: each stored order's place among its period's stored orders of the batch.
        "ranked AS (SELECT account_id, period_start, received_at, row_number() OVER "
        "(PARTITION BY account_id, period_start ORDER BY s) AS k FROM kept), "
        "gained AS (SELECT account_id, period_start, max(k) AS k FROM ranked "
        "GROUP BY account_id, period_start), "
        f"counted AS (UPDATE {usage} u SET used = u.used + g.k FROM gained g "
        "WHERE u.account_id = g.account_id AND u.period_start = g.period_start "
        "RETURNING u.account_id, u.period_start, u.used, u.used - g.k AS was), "
        # The tallies (orderreport/tally.py): appended, never updated, so concurrent batches
        # never wait on each other's rows. `lines`: the stored orders' product lines, each
        # order's JSON read once. The orders' counts and their items go in as separate rows
        # of the same key (compaction adds them up): no join between the two.
        "lines AS (SELECT k.project_id, k.received_at, k.currency, p->>'name' AS name, "
        "(p->>'count')::numeric AS n, (p->>'price')::numeric AS price "
        f"FROM kept k CROSS JOIN LATERAL {_LINES}), "
        f"tallied AS (INSERT INTO {order_tally} (project_id, slot, currency, status, orders, "
        f"revenue, items) SELECT project_id, {QUARTER_HOUR.format(at='received_at')}, "
        "currency, 'new', count(*), sum(total), 0 FROM kept GROUP BY 1, 2, 3 UNION ALL "
        f"SELECT project_id, {QUARTER_HOUR.format(at='received_at')}, currency, 'new', 0, 0, "
        "sum(n) FROM lines GROUP BY 1, 2, 3), "
        f"products_tallied AS (INSERT INTO {product_tally} (project_id, day, currency, name, "
        "quantity, revenue) SELECT project_id, (received_at AT TIME ZONE 'UTC')::date, "
        "currency, name, sum(n), sum(price * n) FROM lines GROUP BY 1, 2, 3, 4), "
        # The outbox: one delivery per active channel of the order's project that wants
        # orders (one index probe per order when the project has none).
        f"queued AS (INSERT INTO {delivery} ({DELIVERY_COLUMNS.format(target='order_id')}) "
        "SELECT c.id, 'order', s.id, 'pending', 0, s.received_at, '', '', s.received_at "
        f"FROM stored s JOIN {channel} c ON c.project_id = s.project_id "
        "WHERE c.is_active AND c.receives_orders), "
        # Limit warnings, only when the batch took a usage row across a threshold. numeric:
        # "unlimited" is 2^62, and 2^62 * 100 would overflow bigint. `used`: the count of the
        # order that crossed the threshold.
        f"warned AS (INSERT INTO {warning} (account_id, period_start, threshold, used, "
        "monthly_limit, created) "
        "SELECT cn.account_id, cn.period_start, t.threshold, cn.was + r.k, l.n, r.received_at "
        "FROM counted cn JOIN lim l ON l.id = cn.account_id "
        f"CROSS JOIN (VALUES {thresholds}) AS t(threshold) "
        # The order that crossed it: the warning is dated by it, as if counted one by one.
        "JOIN ranked r ON r.account_id = cn.account_id AND r.period_start = cn.period_start "
        "AND cn.was + r.k = ceil(l.n::numeric * t.threshold / 100) "
        "WHERE cn.was::numeric * 100 < l.n::numeric * t.threshold "
        "AND l.n::numeric * t.threshold <= cn.used::numeric * 100 "
        "ON CONFLICT (account_id, period_start, threshold) DO NOTHING "
        "RETURNING id, account_id, created), "
        f"warned_queue AS (INSERT INTO {delivery} "
        f"({DELIVERY_COLUMNS.format(target='limit_warning_id')}) "
        "SELECT ch.id, 'limit', w.id, 'pending', 0, w.created, '', '', w.created "
        "FROM warned w CROSS JOIN LATERAL ("
        f"SELECT c.id FROM {channel} c JOIN {project} p ON p.id = c.project_id "
        "WHERE p.account_id = w.account_id AND c.is_active AND c.receives_limits "
        # The account owner always hears about the limit, by e-mail (no channel).
        "UNION ALL SELECT NULL) ch) "
        "SELECT od.s, COALESCE(st.id, CASE WHEN od.own THEN od.known_id END), "
        "od.ahead < od.room, od.key_ok FROM ordered od "
        "LEFT JOIN stored st ON od.fresh AND od.key_ok AND od.ahead < od.room "
        "AND st.project_id = od.project_id AND st.external_id = od.external_id"
    )


@cache
def events_sql(param: str, retry_param: str) -> str:
    """Statement 3: the batch's event records and their outbox."""
    record, key, event = EventRecord._meta.db_table, ApiKey._meta.db_table, Event._meta.db_table
    delivery, channel = Delivery._meta.db_table, Channel._meta.db_table
    channel_events = Channel.events.through._meta.db_table
    event_tally = EventTally._meta.db_table
    columns = ", ".join(EVENT_COLUMNS)
    return (
        f"WITH b AS (SELECT * FROM json_to_recordset({param}) "
        f"AS b({_recordset(_EVENT_EXTRA, EVENT_COLUMNS)})), "
        # A form post has no API key (key_id NULL): the event, checked below, admits it.
        "checked AS (SELECT b.*, (b.key_id IS NULL OR kk.ok IS NOT NULL) AS key_ok, ev.active, "
        "own.id AS own_id "
        f"FROM b LEFT JOIN LATERAL (SELECT 1 AS ok FROM {key} k WHERE k.id = b.key_id "
        "AND k.project_id = b.project_id AND k.is_active OFFSET 0) kk ON true "
        f"LEFT JOIN LATERAL (SELECT e.is_active AS active FROM {event} e "
        "WHERE e.id = b.event_id AND e.project_id = b.project_id OFFSET 0) ev ON true "
        # Only a retry looks for its own rows (the retry flag is a one-time filter): the
        # (project, received_at) index finds the few records of that microsecond.
        f"LEFT JOIN LATERAL (SELECT r.id FROM {record} r WHERE {retry_param} "
        "AND r.project_id = b.project_id AND r.received_at = b.received_at "
        "AND r.ingest_tag = b.ingest_tag OFFSET 0) own ON true), "
        f"stored AS (INSERT INTO {record} ({columns}) SELECT {columns} FROM checked "
        "WHERE own_id IS NULL AND key_ok AND active ORDER BY s "
        "RETURNING id, project_id, event_id, received_at, ingest_tag, spam), "
        # Spam is kept, flagged, but neither counted nor notified.
        f"tallied AS (INSERT INTO {event_tally} (project_id, event_id, slot, records) "
        f"SELECT project_id, event_id, {QUARTER_HOUR.format(at='received_at')}, count(*) "
        "FROM stored WHERE NOT spam GROUP BY 1, 2, 3), "
        f"queued AS (INSERT INTO {delivery} "
        f"({DELIVERY_COLUMNS.format(target='event_record_id')}) "
        "SELECT c.id, 'event', s.id, 'pending', 0, s.received_at, '', '', s.received_at "
        f"FROM stored s JOIN {channel_events} ce ON ce.event_id = s.event_id "
        f"JOIN {channel} c ON c.id = ce.channel_id WHERE c.is_active AND NOT s.spam) "
        "SELECT ch.s, COALESCE(ch.own_id, st.id), ch.key_ok, ch.active FROM checked ch "
        "LEFT JOIN stored st ON st.ingest_tag = ch.ingest_tag"
    )


# --- Items in, outcomes out ------------------------------------------------------------------


def _split(
    items: Sequence[Item],
) -> tuple[list[tuple[int, OrderItem]], list[tuple[int, EventItem]]]:
    orders = [(n, i) for n, i in enumerate(items) if isinstance(i, OrderItem)]
    events = [(n, i) for n, i in enumerate(items) if isinstance(i, EventItem)]
    return orders, events


def _orders_json(orders: Sequence[tuple[int, OrderItem]]) -> tuple[str, str]:
    """The lock and orders statements' parameters: (account, period) pairs, the rows."""
    pairs = sorted({(o.account_id, o.period_start) for _n, o in orders})
    days = settings.HELD_ORDER_DAYS
    rows = [
        {**o.row._asdict(), "s": n, "account_id": o.account_id,
         "period_start": o.period_start, "key_id": o.key_id, "hold_until": o.hold_until(days)}
        for n, o in orders
    ]  # fmt: skip
    return orjson.dumps(pairs).decode(), orjson.dumps(rows).decode()


def _events_json(events: Sequence[tuple[int, EventItem]]) -> str:
    rows = [{**e.row._asdict(), "s": n, "key_id": e.key_id} for n, e in events]
    return orjson.dumps(rows).decode()


def _order_outcome(record_id: int | None, room_left: bool, key_ok: bool) -> Result:
    if record_id is not None:
        return Result(Outcome.CREATED, record_id)
    if not key_ok:
        return Result(Outcome.KEY_GONE)
    return Result(Outcome.DUPLICATE if room_left else Outcome.LIMIT_REACHED)


def _event_outcome(record_id: int | None, key_ok: bool, active: bool | None) -> Result:
    if record_id is not None:
        return Result(Outcome.CREATED, record_id)
    if not key_ok:
        return Result(Outcome.KEY_GONE)
    return Result(Outcome.EVENT_GONE if active is None else Outcome.EVENT_INACTIVE)


def _results(
    count: int, order_rows: Sequence[tuple[Any, ...]], event_rows: Sequence[tuple[Any, ...]]
) -> list[Result]:
    # An order missing from the answer lost its account since its key was read (deleted a
    # moment ago): its key is no longer valid.
    results = [Result(Outcome.KEY_GONE)] * count
    for seq, record_id, room_left, key_ok in order_rows:
        results[seq] = _order_outcome(record_id, room_left, key_ok)
    for seq, record_id, key_ok, active in event_rows:
        results[seq] = _event_outcome(record_id, key_ok, active)
    return results


# --- The backend -----------------------------------------------------------------------------

_LOCK, _ORDERS, _EVENTS = "orderreport_lock_usage", "orderreport_orders", "orderreport_events"

# A PREPAREd statement lives in one server session: this needs a direct connection or a
# pooler in session mode (PgBouncer's transaction mode would lose it between transactions).
# PostgreSQL plans a prepared statement once; a plan made while a new instance's tables were
# empty and never analysed must not outlive their first rows. So the statements are prepared
# again after 10, 100 and 1,000 batches, and then every REPLAN_SECONDS.
REPLAN_SECONDS = 30.0
_REPLAN_AFTER_BATCHES = (10, 100, 1000)
# Up to 4 MB (several thousand orders) an ANALYZE takes a few milliseconds. Past that it
# would hold up a batch noticeably, and the statistics taken so far (or autovacuum's) are
# enough for a choice between a project's indexes.
_ANALYSE_BELOW_PAGES = 512


@dataclass(slots=True)
class _Session:
    """What one writer connection has prepared, and since when."""

    prepared_at: float
    batches: int = 0
    names: set[str] = field(default_factory=set)


def _statements() -> dict[str, str]:
    return {
        _LOCK: f"PREPARE {_LOCK}(json) AS {lock_sql('$1')}",
        _ORDERS: f"PREPARE {_ORDERS}(json) AS {orders_sql('$1')}",
        _EVENTS: f"PREPARE {_EVENTS}(json, boolean) AS {events_sql('$1', '$2')}",
    }


class PostgresBackend:
    # A lock timeout is about one row or table: other accounts' orders may go through alone.
    row_locks = True

    def __init__(self) -> None:
        self._sessions: weakref.WeakKeyDictionary[psycopg.Connection[Any], _Session] = (
            weakref.WeakKeyDictionary()
        )

    def classify(self, exc: BaseException) -> str:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
            # Rolled back after lock_timeout or statement_timeout: a row or table held
            # elsewhere; each item alone would wait as long again.
            return writer.LOCK_TIMEOUT
        if isinstance(cause, psycopg.OperationalError) and not isinstance(
            cause, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected
        ):
            return writer.CONNECTION
        return writer.OTHER

    def prepare_connection(self, db: Any) -> None:
        raw = db.connection
        if raw is not None and (raw.closed or raw.broken or _dropped_while_idle(raw)):
            # Lost while idle (a server restart, an idle timeout): nothing was in flight.
            db.close()
        with db.wrap_database_errors:
            db.ensure_connection()
            raw = db.connection
            if raw not in self._sessions:
                self._start_session(raw)

    def _start_session(self, raw: psycopg.Connection[Any]) -> None:
        # The timeouts cover everything the connection runs from here: the PREPAREs, the
        # ANALYZE and the size probe included.
        raw.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('statement_timeout', %s, false)",
            [f"{settings.INGEST_LOCK_TIMEOUT_MS}ms", f"{settings.INGEST_STATEMENT_TIMEOUT_MS}ms"],
        )
        self._sessions[raw] = _Session(prepared_at=time.monotonic())

    def _prepare(self, raw: psycopg.Connection[Any], names: Sequence[str]) -> None:
        """Prepare the statements a batch needs (only those: each lane touches its tables)."""
        session = self._sessions[raw]
        now = time.monotonic()
        if session.names and (
            now - session.prepared_at >= REPLAN_SECONDS or session.batches in _REPLAN_AFTER_BATCHES
        ):
            for name in sorted(session.names):
                with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
                    raw.execute(f"DEALLOCATE {name}")  # gone already after a DISCARD ALL
            session.names.clear()
            session.prepared_at = now
        missing = [n for n in names if n not in session.names]
        if not missing:
            return
        if _ORDERS in missing:
            _analyse_if_unknown(raw)
        statements = _statements()
        for name in missing:
            # A PREPARE that failed halfway through a set (a lock timeout) leaves the others
            # prepared; a leftover of the same name is dropped first, so this always recovers.
            with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
                raw.execute(f"DEALLOCATE {name}")
            raw.execute(statements[name])
            session.names.add(name)

    def run_batch(self, db: Any, items: Sequence[Item], retry: bool) -> list[Result]:
        orders, events = _split(items)
        sql = ["BEGIN; SET LOCAL synchronous_commit TO off;"]
        params: list[Any] = []
        names: list[str] = []
        if orders:
            pairs, rows = _orders_json(orders)
            sql.append(f"EXECUTE {_LOCK}(%s); EXECUTE {_ORDERS}(%s);")
            params += [pairs, rows]
            names += [_LOCK, _ORDERS]
        if events:
            sql.append(f"EXECUTE {_EVENTS}(%s, %s);")
            params += [_events_json(events), retry]
            names.append(_EVENTS)
        sql.append("COMMIT; SELECT pg_current_xact_id()")
        with db.wrap_database_errors:
            raw: psycopg.Connection[Any] = db.connection
            cur = raw.cursor()
            try:
                self._sessions[raw].batches += 1
                self._prepare(raw, names)
                try:
                    cur.execute(" ".join(sql), params)
                except psycopg.errors.InvalidSqlStatementName:
                    # Someone ran DISCARD ALL (a pooler) on this connection, which also reset
                    # its timeouts: start the session again.
                    _rollback(raw)
                    self._start_session(raw)
                    self._prepare(raw, names)
                    cur.execute(" ".join(sql), params)
            except BaseException:
                _rollback(raw)
                raise
            # Results: BEGIN, SET, [lock, orders], [events], COMMIT, the flush.
            cur.nextset()
            cur.nextset()
            order_rows: list[Any] = []
            event_rows: list[Any] = []
            if orders:
                cur.nextset()
                order_rows = cur.fetchall()
                cur.nextset()
            if events:
                event_rows = cur.fetchall()
                cur.nextset()
        return _results(len(items), order_rows, event_rows)

    def run_in_transaction(self, items: Sequence[Item], retry: bool) -> list[Result]:
        orders, events = _split(items)
        order_rows: list[Any] = []
        event_rows: list[Any] = []
        # A savepoint: a failing batch leaves the caller's transaction usable.
        with transaction.atomic(), connection.cursor() as cursor:
            if orders:
                pairs, rows = _orders_json(orders)
                cursor.execute(lock_sql("%s::json"), [pairs])
                cursor.execute(orders_sql("%s::json"), [rows])
                order_rows = cursor.fetchall()
            if events:
                cursor.execute(events_sql("%s::json", "%s"), [_events_json(events), retry])
                event_rows = cursor.fetchall()
        return _results(len(items), order_rows, event_rows)


def _dropped_while_idle(raw: psycopg.Connection[Any]) -> bool:
    """True if the server has ended this idle session (a restart, an idle timeout, an admin).

    An idle connection has nothing to read; a readable socket holds the server's farewell (or
    its end). Checked before each batch, so that no item fails for a connection lost while
    nobody was using it.
    """
    try:
        readable, _, _ = select.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


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
    """Leave the connection idle for the next batch, whatever went wrong."""
    if raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        # A broken connection fails here too: the next batch's check replaces it.
        with contextlib.suppress(psycopg.Error):
            raw.execute("ROLLBACK")


BACKEND = PostgresBackend()
