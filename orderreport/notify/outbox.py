"""The outbox: deliveries written in the same transaction as what they announce.

New orders, event records and limit warnings are queued by the write side's own statement
(ingest/postgres.py, ingest/sqlite.py), so a record and its notifications commit together or
not at all. Status changes are queued here, on orders' `status_changed` signal, which
change_status sends inside the transaction that writes the step, and so is a record marked
"not spam", on events' `record_admitted`. What is queued from the dashboard (a test message,
"send again") is here too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from orderreport.accounts.models import Account
from orderreport.events.models import EventRecord
from orderreport.notify.models import Channel, Delivery
from orderreport.orders.models import Order, StatusChange


def enqueue_status_change(change: StatusChange, order: Order) -> list[Delivery]:
    """One delivery per active channel of the order's project that wants status changes."""
    channels = Channel.objects.filter(
        project_id=order.project_id, is_active=True, receives_status_changes=True
    ).values_list("pk", flat=True)
    now = change.changed_at
    return Delivery.objects.bulk_create(
        [
            Delivery(
                channel_id=channel_id,
                topic=Delivery.Topic.STATUS,
                order_id=order.pk,
                status_change=change,
                next_attempt_at=now,
                created=now,
            )
            for channel_id in channels
        ]
    )


def on_status_changed(sender: Any, change: StatusChange, order: Order, **kwargs: Any) -> None:
    enqueue_status_change(change, order)


def enqueue_record(record: EventRecord, now: dt.datetime) -> list[Delivery]:
    """One delivery per active channel that chose the record's event: the write side's rule
    (queue_record in ingest/sqlite.py and ingest/postgres.py)."""
    channels = Channel.objects.filter(
        project_id=record.project_id, is_active=True, events=record.event_id
    ).values_list("pk", flat=True)
    return Delivery.objects.bulk_create(
        [
            Delivery(
                channel_id=channel_id,
                topic=Delivery.Topic.EVENT,
                event_record_id=record.pk,
                next_attempt_at=now,
                created=now,
            )
            for channel_id in channels
        ]
    )


def on_record_admitted(sender: Any, record: EventRecord, **kwargs: Any) -> None:
    enqueue_record(record, timezone.now())


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
        status_change_id=delivery.status_change_id,
        # A summary's copy covers the same day; it has no once_key, which belongs to the
        # one the worker queued.
        digest_day=delivery.digest_day,
        next_attempt_at=now,
        created=now,
    )


def account_of(delivery: Delivery) -> Account:
    if delivery.limit_warning is not None:
        return delivery.limit_warning.account
    assert delivery.channel is not None
    return delivery.channel.project.account
