"""The outbox: deliveries written in the same transaction as what they announce.

The enqueue functions run inside record_order/record_event on the request's own cursor, so an
order and its notifications commit together or not at all. Each is one INSERT ... SELECT that
finds nothing to insert (one index probe) when the project has no channels.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.db import connection

from orderreport.accounts.models import Account
from orderreport.notify.models import Channel, Delivery, LimitWarning
from orderreport.projects.models import Project

LIMIT_THRESHOLDS = (80, 100)

_COLUMNS = (
    "channel_id, topic, {target}, status, attempts, next_attempt_at, claim, last_error, created"
)


@cache
def _sql() -> dict[str, str]:
    delivery, channel = Delivery._meta.db_table, Channel._meta.db_table
    channel_events = Channel.events.through._meta.db_table
    project = Project._meta.db_table
    warning = LimitWarning._meta.db_table
    values = "'pending', 0, %s, '', '', %s"
    return {
        "order": (
            f"INSERT INTO {delivery} ({_COLUMNS.format(target='order_id')}) "
            f"SELECT c.id, 'order', %s, {values} FROM {channel} c "
            "WHERE c.project_id = %s AND c.is_active AND c.receives_orders"
        ),
        "event": (
            f"INSERT INTO {delivery} ({_COLUMNS.format(target='event_record_id')}) "
            f"SELECT c.id, 'event', %s, {values} FROM {channel} c "
            f"JOIN {channel_events} ce ON ce.channel_id = c.id "
            "WHERE ce.event_id = %s AND c.is_active"
        ),
        "warning": (
            f"INSERT INTO {warning} (account_id, period_start, threshold, used, monthly_limit, "
            "created) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (account_id, period_start, threshold) DO NOTHING RETURNING id"
        ),
        "limit": (
            f"INSERT INTO {delivery} ({_COLUMNS.format(target='limit_warning_id')}) "
            f"SELECT c.id, 'limit', %s, {values} FROM {channel} c "
            f"JOIN {project} p ON p.id = c.project_id "
            "WHERE p.account_id = %s AND c.is_active AND c.receives_limits "
            # The account owner always hears about the limit, by e-mail (no channel).
            f"UNION ALL SELECT NULL, 'limit', %s, {values}"
        ),
    }


@cache
def outbox_ctes() -> str:
    """The outbox as data-modifying CTEs for PostgreSQL's group insert of orders.

    They read, from that statement (orders/postgres.py), `stored` (the orders inserted: id,
    project_id, received_at), `counted` (each usage row the group grew: account_id,
    period_start, used, and `was`, its value before) and `lim` (id, the account; n, the plan's
    limit). Only the first does work for every group (one index probe of each order's project
    channels); a warning is written only when a group crossed a threshold, and its deliveries
    only when the warning was new this period.
    """
    delivery, channel = Delivery._meta.db_table, Channel._meta.db_table
    project = Project._meta.db_table
    warning = LimitWarning._meta.db_table
    thresholds = ", ".join(f"({t})" for t in LIMIT_THRESHOLDS)
    return (
        f"queued AS (INSERT INTO {delivery} ({_COLUMNS.format(target='order_id')}) "
        "SELECT c.id, 'order', s.id, 'pending', 0, s.received_at, '', '', s.received_at "
        f"FROM stored s JOIN {channel} c ON c.project_id = s.project_id "
        "WHERE c.is_active AND c.receives_orders), "
        # numeric: "unlimited" is 2^62, and 2^62 * 100 would overflow bigint.
        f"warned AS (INSERT INTO {warning} (account_id, period_start, threshold, used, "
        "monthly_limit, created) "
        # `used`: the count of the order that crossed the threshold, as if counted one by one.
        "SELECT cn.account_id, cn.period_start, t.threshold, "
        "ceil(l.n::numeric * t.threshold / 100)::bigint, l.n, "
        "(SELECT max(received_at) FROM stored) "
        "FROM counted cn JOIN lim l ON l.id = cn.account_id "
        f"CROSS JOIN (VALUES {thresholds}) AS t(threshold) "
        "WHERE cn.was::numeric * 100 < l.n::numeric * t.threshold "
        "AND l.n::numeric * t.threshold <= cn.used::numeric * 100 "
        "ON CONFLICT (account_id, period_start, threshold) DO NOTHING "
        "RETURNING id, account_id, created), "
        f"warned_queue AS (INSERT INTO {delivery} ({_COLUMNS.format(target='limit_warning_id')}) "
        "SELECT ch.id, 'limit', w.id, 'pending', 0, w.created, '', '', w.created "
        "FROM warned w CROSS JOIN LATERAL ("
        f"SELECT c.id FROM {channel} c JOIN {project} p ON p.id = c.project_id "
        "WHERE p.account_id = w.account_id AND c.is_active AND c.receives_limits "
        # The account owner always hears about the limit, by e-mail (no channel).
        "UNION ALL SELECT NULL) ch)"
    )


def _db_time(now: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(now)


def enqueue_order(cursor: Any, project_id: int, order_id: int, now: dt.datetime) -> None:
    """Queue a delivery of a new order to each of the project's channels that want orders."""
    at = _db_time(now)
    cursor.execute(_sql()["order"], (order_id, at, at, project_id))


def enqueue_event(cursor: Any, event_id: int, record_id: int, now: dt.datetime) -> None:
    """Queue a delivery of a new event record to each channel that chose this event."""
    at = _db_time(now)
    cursor.execute(_sql()["event"], (record_id, at, at, event_id))


def crossed_thresholds(used: int, limit: int) -> list[int]:
    """The warning thresholds (percent) that the order making `used` crossed."""
    return [t for t in LIMIT_THRESHOLDS if (used - 1) * 100 < limit * t <= used * 100]


def note_usage(
    cursor: Any,
    account_id: int,
    period_start: dt.date,
    used: int,
    limit: int,
    now: dt.datetime,
) -> None:
    """Warn about the plan limit if this order crossed 80% or 100% of it (once per period).

    Called with the quota counter's own result, so the common case is arithmetic only.
    """
    thresholds = crossed_thresholds(used, limit)
    if not thresholds:
        return
    at = _db_time(now)
    for threshold in thresholds:
        cursor.execute(_sql()["warning"], (account_id, period_start, threshold, used, limit, at))
        row = cursor.fetchone()
        if row is None:  # already warned this period
            continue
        cursor.execute(_sql()["limit"], (row[0], at, at, account_id, row[0], at, at))


def enqueue_test(channel: Channel, now: dt.datetime) -> Delivery:
    """Queue a test message to one channel (the dashboard's "send test")."""
    return Delivery.objects.create(
        channel=channel, topic=Delivery.Topic.TEST, next_attempt_at=now, created=now
    )


def send_again(delivery: Delivery, now: dt.datetime) -> Delivery:
    """Queue a fresh copy of a delivery (the log's "send again"); the old one stays as it was."""
    return Delivery.objects.create(
        channel=delivery.channel,
        topic=delivery.topic,
        order_id=delivery.order_id,
        event_record_id=delivery.event_record_id,
        limit_warning_id=delivery.limit_warning_id,
        next_attempt_at=now,
        created=now,
    )


def account_of(delivery: Delivery) -> Account:
    if delivery.limit_warning is not None:
        return delivery.limit_warning.account
    assert delivery.channel is not None
    return delivery.channel.project.account
