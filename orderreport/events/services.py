"""Recording an event record."""

from __future__ import annotations

from functools import cache

import orjson
from django.db import connection

from orderreport.events.models import EventRecord
from orderreport.tracking.meta import RequestMeta
from orderreport.tracking.schemas import EventPayload


@cache
def _sql() -> str:
    return (
        f"INSERT INTO {EventRecord._meta.db_table} (project_id, event_id, data, origin, "
        "client_ip, user_agent, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
    )


def record_event(project_id: int, event_id: int, payload: EventPayload, meta: RequestMeta) -> int:
    """Store one record of an event; returns its id. A single statement, so it commits alone."""
    data = orjson.dumps([d.model_dump() for d in payload.data]).decode()
    with connection.cursor() as cursor:
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
    return int(record_id)
