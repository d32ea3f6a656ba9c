"""PostgreSQL's path for recording an order: one statement, one round trip, exact quota.

Why not the generic path (insert, count, commit as three statements): every order of an
account goes through the same `accounts_usage` row, and its row lock is held until the
transaction ends. With the generic path that is three network round trips plus the disk flush
of the commit, during which every other order of the account waits; on a busy two-core
machine that capped an account at well under a thousand orders a second.

Here the order and its count are one statement (data-modifying CTEs), prepared once per
connection, and the whole transaction is sent as one pipeline, so the server runs it without
waiting for Python in between. The transaction commits with `synchronous_commit = off`, which
releases the usage row as soon as the commit record is written, before it is flushed; the
last statement of the pipeline is then a tiny transaction that takes a transaction id and
commits with the server's own setting, and its commit flushes the WAL up to and including our
commit record (the WAL is flushed in order). Only after that answer does the view send 201:
an accepted order is on disk, and concurrent orders share the flushes instead of queueing
for one flush each. A crash between the two commits loses only an order nobody was told about.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import weakref
from functools import cache
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import UniqueConstraint
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from orderreport.accounts.models import Account, Plan, Usage
from orderreport.orders.models import Order
from orderreport.orders.services import UNLIMITED, OrderResult, Outcome


@cache
def order_constraint() -> str:
    """Name of the unique (project, id) constraint a duplicate order violates."""
    return next(
        str(c.name)
        for c in Order._meta.constraints
        if isinstance(c, UniqueConstraint) and tuple(c.fields) == ("project", "external_id")
    )


# The statement's parameters, in order: the limit standing for "unlimited", the account (for
# the plan's limit, then for the usage row), the period, then the order's columns.
_PARAM_TYPES = (
    *("bigint", "bigint", "bigint", "date"),
    *("bigint", "text", "bigint", "text", "text", "text", "text"),
    *("jsonb", "jsonb", "text", "inet", "text", "timestamptz"),
)


@cache
def _sql(prepared: bool) -> str:
    """The statement, with `$n` parameters for PREPARE or typed `%s` ones for a cursor."""
    p = iter(f"${n}" if prepared else f"%s::{kind}" for n, kind in enumerate(_PARAM_TYPES, start=1))
    order, usage = Order._meta.db_table, Usage._meta.db_table
    account, plan = Account._meta.db_table, Plan._meta.db_table
    # `counted` takes one unit of quota (locking the usage row: concurrent orders queue there
    # and each re-checks `used < limit` against the committed value, so with a limit of N
    # exactly N get through). `stored` inserts the order only if a unit was taken; a duplicate
    # id makes it fail with a unique violation, which rolls the unit back. So a reached limit
    # answers NULL even for a duplicate (402 before 409), and nothing rejected costs quota.
    return (
        f"WITH lim AS (SELECT COALESCE(p.monthly_order_limit, {next(p)}) AS n "
        f"FROM {account} a JOIN {plan} p ON p.id = a.plan_id WHERE a.id = {next(p)}), "
        f"counted AS (INSERT INTO {usage} AS u (account_id, period_start, used) "
        f"SELECT {next(p)}, {next(p)}, 1 FROM lim WHERE lim.n > 0 "
        "ON CONFLICT (account_id, period_start) DO UPDATE SET used = u.used + 1 "
        "WHERE u.used < (SELECT n FROM lim) RETURNING 1), "
        f"stored AS (INSERT INTO {order} (project_id, external_id, total, currency, username, "
        "email, phone, products, data, origin, client_ip, user_agent, received_at) "
        f"SELECT {', '.join(p)} WHERE EXISTS (SELECT 1 FROM counted) RETURNING id) "
        "SELECT (SELECT id FROM stored)"
    )


def record_order(account_id: int, period_start: dt.date, row: tuple[Any, ...]) -> OrderResult:
    """Record an order; `row` holds the order's columns in the INSERT's order."""
    params = (UNLIMITED, account_id, account_id, period_start, *row)
    # `connection` is a proxy that looks the thread's connection up on every attribute; one
    # lookup here instead of six is a measurable share of this function's own time.
    db = connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block or not db.get_autocommit():
        # Inside someone's transaction (a test, a data import): that transaction decides when
        # the order commits, so only the statement is shared.
        return _in_transaction(params)
    with db.wrap_database_errors:
        db.ensure_connection()
        return _own_transaction(db.connection, params)


def _outcome(order_id: int | None) -> OrderResult:
    if order_id is None:
        return OrderResult(Outcome.LIMIT_REACHED)
    return OrderResult(Outcome.CREATED, order_id)


def _in_transaction(params: tuple[Any, ...]) -> OrderResult:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_sql(prepared=False), params)
            (order_id,) = cursor.fetchone()
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) == (
            order_constraint()
        ):
            return OrderResult(Outcome.DUPLICATE)
        raise
    return _outcome(order_id)


def _own_transaction(raw: psycopg.Connection[Any], params: tuple[Any, ...]) -> OrderResult:
    _ensure_prepared(raw)
    # One query string, so one round trip: psycopg binds the values client-side (quoted
    # literals) and the server runs the statements in order, stopping at the first error.
    cur = raw.cursor()
    try:
        try:
            cur.execute(_ONE_ROUND_TRIP, params)
        except pg_errors.InvalidSqlStatementName:
            # Someone ran DISCARD ALL / DEALLOCATE on this connection: prepare again, once.
            _rollback(raw)
            _prepared_on.discard(raw)
            _ensure_prepared(raw)
            cur.execute(_ONE_ROUND_TRIP, params)
    except pg_errors.UniqueViolation as exc:
        _rollback(raw)
        if exc.diag.constraint_name != order_constraint():
            raise
        # The order we collided with may itself be committed but not yet flushed: wait for
        # it, so that a 409 never points at an order a crash could still lose.
        _flush_wal(raw)
        return OrderResult(Outcome.DUPLICATE)
    except BaseException:
        _rollback(raw)
        raise
    # Results: BEGIN, SET, EXECUTE (the order's id or NULL), COMMIT, the flush.
    cur.nextset()
    cur.nextset()
    row = cur.fetchone()
    return _outcome(row[0] if row else None)


# Prepared once per connection (psycopg's own cache does not apply to multi-statement strings).
# A PREPAREd statement lives in one server session: this needs a direct connection or a
# pooler in session mode (PgBouncer's transaction mode would lose it between requests).
_STATEMENT = "orderreport_record_order"
_ONE_ROUND_TRIP = (
    "BEGIN; SET LOCAL synchronous_commit TO off; "
    f"EXECUTE {_STATEMENT}({', '.join(['%s'] * len(_PARAM_TYPES))}); "
    "COMMIT; SELECT pg_current_xact_id()"
)
_prepared_on: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


def _ensure_prepared(raw: psycopg.Connection[Any]) -> None:
    if raw in _prepared_on:
        return
    raw.execute(f"PREPARE {_STATEMENT}({', '.join(_PARAM_TYPES)}) AS {_sql(prepared=True)}")
    _prepared_on.add(raw)


def _flush_wal(raw: psycopg.Connection[Any]) -> None:
    # Taking a transaction id makes this autocommit transaction write a commit record, which
    # is flushed (and replicated, under synchronous replication) per the server's
    # synchronous_commit before the answer comes back.
    raw.execute("SELECT pg_current_xact_id()")


def _rollback(raw: psycopg.Connection[Any]) -> None:
    """Leave the connection idle for the next request, whatever went wrong."""
    if raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        # A broken connection fails here too: Django notices and replaces it after the request.
        with contextlib.suppress(psycopg.Error):
            raw.execute("ROLLBACK")
