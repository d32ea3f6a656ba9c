"""Recording an event record."""

from __future__ import annotations

from functools import cache

import orjson
from django.db import connection, transaction

from orderreport.events.models import EventRecord
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.schemas import EventPayload
from orderreport.notify.outbox import enqueue_event


@cache
def _sql() -> str:
    return (
        f"INSERT INTO {EventRecord._meta.db_table} (project_id, event_id, data, origin, "
        "client_ip, user_agent, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
    )


def record_event(project_id: int, event_id: int, payload: EventPayload, meta: RequestMeta) -> int:
    """Store one record of an event and queue its notifications; returns its id."""
    data = orjson.dumps([d.model_dump() for d in payload.data]).decode()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _sql(),
            (
                project_id,
                event_id,
                data,
                meta.origin,
                meta.client_ip,
                meta.user_agent,
                connection.ops.adapt_datetimefield_value(meta.received_at),
            ),
        )
        (record_id,) = cursor.fetchone()
        enqueue_event(cursor, event_id, record_id, meta.received_at)
    return int(record_id)
