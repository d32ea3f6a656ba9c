"""Recording an order: the one place that writes orders and counts them against the plan."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import orjson
from django.db import connection, transaction

from orderreport.accounts.billing import billing_period
from orderreport.accounts.models import Account, Plan, Usage
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.schemas import OrderPayload
from orderreport.notify.outbox import enqueue_order, note_usage
from orderreport.orders.models import Order

DEFAULT_CURRENCY = "RUB"
# Stands in for "no limit" in SQL comparisons; no account records 2^62 orders a month.
UNLIMITED = 2**62


class Outcome(enum.Enum):
    CREATED = "created"
    LIMIT_REACHED = "limit_reached"
    DUPLICATE = "duplicate"
    # The key's project or account was deleted between the key check and the insert.
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class OrderResult:
    outcome: Outcome
    order_id: int | None = None


@cache
def _sql() -> tuple[str, str, str]:
    order, usage = Order._meta.db_table, Usage._meta.db_table
    account, plan = Account._meta.db_table, Plan._meta.db_table
    limit = (
        f"(SELECT COALESCE(p.monthly_order_limit, %s) FROM {account} a "
        f"JOIN {plan} p ON p.id = a.plan_id WHERE a.id = %s)"
    )
    insert_order = (
        f"INSERT INTO {order} (project_id, external_id, total, currency, username, email, "
        "phone, products, data, origin, client_ip, user_agent, received_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (project_id, external_id) DO NOTHING RETURNING id"
    )
    # The quota: one conditional upsert. On PostgreSQL, concurrent requests queue on the
    # usage row's lock and each re-checks `used < limit` against the committed value, so with
    # a limit of N exactly N orders get through. It runs after the order insert so the lock
    # is held only until the commit that follows.
    count_order = (
        f"INSERT INTO {usage} (account_id, period_start, used) "
        f"SELECT %s, %s, 1 WHERE {limit} > 0 "
        f"ON CONFLICT (account_id, period_start) DO UPDATE SET used = {usage}.used + 1 "
        f"WHERE {usage}.used < {limit} RETURNING used, {limit}"
    )
    limit_reached = (
        f"SELECT COALESCE((SELECT used FROM {usage} WHERE account_id = %s AND period_start = %s)"
        f", 0) >= {limit}"
    )
    return insert_order, count_order, limit_reached


# The period changes once a day per account; dateutil's month arithmetic is not free.
_billing_period = lru_cache(maxsize=4096)(billing_period)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def record_order(
    project_id: int,
    account_id: int,
    billing_anchor: dt.date,
    payload: OrderPayload,
    meta: RequestMeta,
) -> OrderResult:
    """Store an order and count it against the account's plan, in one short transaction.

    A duplicate id or a reached limit writes nothing and consumes nothing.
    """
    period_start, _end = _billing_period(billing_anchor, meta.received_at.date())
    products = [p.model_dump() for p in payload.products] if payload.products else []
    data = [d.model_dump() for d in payload.data] if payload.data else []
    row = (
        project_id,
        payload.id,
        payload.total,
        payload.currency or DEFAULT_CURRENCY,
        payload.username or "",
        payload.email or "",
        payload.phone or "",
        products,
        data,
        meta.origin,
        meta.client_ip,
        meta.user_agent,
        meta.received_at,
    )
    if connection.vendor == "postgresql":
        from orderreport.orders import postgres  # it builds on this module's types

        return postgres.record_order(account_id, period_start, row)
    return _record_generic(account_id, period_start, row)


def _record_generic(account_id: int, period_start: dt.date, row: tuple[Any, ...]) -> OrderResult:
    """Any database: insert the order, then count it, in one transaction (SQLite's path)."""
    insert_order, count_order, limit_reached = _sql()
    received_at = connection.ops.adapt_datetimefield_value(row[-1])
    # Products and data (columns 8 and 9) are stored as JSON text.
    values = (*row[:7], _json(row[7]), _json(row[8]), *row[9:-1], received_at)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert_order, values)
        created = cursor.fetchone()
        if created is None:
            # Already recorded. When the plan is also used up, the contract answers 402 first.
            cursor.execute(limit_reached, (account_id, period_start, UNLIMITED, account_id))
            (reached,) = cursor.fetchone()
            return OrderResult(Outcome.LIMIT_REACHED if reached else Outcome.DUPLICATE)
        cursor.execute(
            count_order,
            (account_id, period_start, UNLIMITED, account_id) + (UNLIMITED, account_id) * 2,
        )
        counted = cursor.fetchone()
        if counted is None:
            transaction.set_rollback(True)
            return OrderResult(Outcome.LIMIT_REACHED)
        # Notifications commit with the order or not at all (the outbox); PostgreSQL's path
        # does the same inside its one statement (orders/postgres.py).
        enqueue_order(cursor, row[0], created[0], row[-1])
        note_usage(cursor, account_id, period_start, counted[0], counted[1], row[-1])
        return OrderResult(Outcome.CREATED, created[0])
