"""Claiming outbox rows with a lease, and the retry schedule: shared by the notifications'
deliveries (worker.py) and account mail (account_mail.py).

Claiming is one UPDATE ... RETURNING that sets a lease. On PostgreSQL the inner SELECT takes
row locks with SKIP LOCKED, so workers side by side never claim the same row; on SQLite the
statement runs under the database's single write lock, which gives the same guarantee.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.db import connection, models, transaction

FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 2 * 3600


def retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> dt.timedelta:
    """Exponential backoff after the n-th failed attempt (30 s, 1 min, 2 min ... 2 h), ±25%
    jitter so a receiver that comes back is not hit by every queued delivery at once."""
    base = min(FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 20), MAX_RETRY_SECONDS)
    return dt.timedelta(seconds=base * (0.75 + rand() / 2))


@cache
def _claim_sql(vendor: str, table: str) -> str:
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    # Built from a model's table name, never from input.
    return (
        f"UPDATE {table} SET claimed_until = %s, claim = %s "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {table} WHERE status = 'pending' "
        "AND next_attempt_at <= %s AND (claimed_until IS NULL OR claimed_until <= %s) "
        f"ORDER BY next_attempt_at LIMIT %s{lock}) RETURNING id"
    )


def claim(model: type[models.Model], now: dt.datetime, claim_id: str, limit: int) -> list[int]:
    """Reserve up to `limit` due rows of an outbox `model` (status, next_attempt_at, claim,
    claimed_until) for this worker until now + the lease; their ids."""
    ops = connection.ops
    at = ops.adapt_datetimefield_value(now)
    until = ops.adapt_datetimefield_value(now + dt.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS))
    sql = _claim_sql(connection.vendor, model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, (until, claim_id, at, at, limit))
        return sorted(row[0] for row in cursor.fetchall())


def renew(model: type[models.Model], pk: int, claim_id: str, now: dt.datetime) -> bool:
    """Extend this worker's lease on one row of `model` to now + the lease; False when the
    claim is no longer ours (another worker took it over after the lease ran out) or the row
    is done."""
    until = now + dt.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    renewed = model._default_manager.filter(pk=pk, claim=claim_id, status="pending").update(
        claimed_until=until
    )
    return renewed == 1


def release(model: type[models.Model], ids: list[int], claim_id: str) -> None:
    """Give back claimed rows not yet sent (on shutdown), so others need not wait."""
    if ids:
        model._default_manager.filter(pk__in=ids, claim=claim_id).update(
            claimed_until=None, claim=""
        )
