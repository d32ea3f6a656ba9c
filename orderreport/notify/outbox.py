"""The outbox: deliveries written in the same transaction as what they announce.

New orders, event records and limit warnings are queued by the write side's own statement
(ingest/postgres.py, ingest/sqlite.py), so a record and its notifications commit together or
not at all. What is queued from the dashboard (a test message, "send again") is here.
"""

from __future__ import annotations

import datetime as dt

from orderreport.accounts.models import Account
from orderreport.notify.models import Channel, Delivery


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
