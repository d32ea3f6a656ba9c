"""Shared builders for the read API's tests (GET /api/external/orders and /events)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.test import Client

from orderreport.events.models import EventRecord
from orderreport.orders.models import Order
from orderreport.projects.models import Event, Project

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
ORDERS = "/api/external/orders"
EVENTS = "/api/external/events"

_numbers = itertools.count(1)


def get(
    client: Client,
    path: str,
    key: str | None,
    params: dict[str, Any] | None = None,
    origin: str | None = None,
    **headers: str,
) -> Any:
    """A GET as a server's HTTP client sends it: no Origin unless given."""
    extra: dict[str, str] = {}
    if key is not None:
        extra["HTTP_X_API_KEY"] = key
    if origin is not None:
        extra["HTTP_ORIGIN"] = origin
    extra.update(headers)
    return client.get(path, params or {}, **extra)


def make_order(project: Project, received_at: dt.datetime | None = None, **fields: Any) -> Order:
    n = next(_numbers)
    values: dict[str, Any] = {
        "external_id": f"r-{n}",
        "total": 1000 + n,
        "currency": "RUB",
        "username": f"Customer {n}",
        "email": f"c{n}@example.org",
        "phone": "+7 900 000 00 00",
        "products": [{"name": "Tea", "price": 500, "count": 2}],
        "data": [{"name": "Comment", "value": "ring twice"}],
        "received_at": received_at or T0,
    }
    values.update(fields)
    return Order.objects.create(project=project, **values)


def make_record(
    project: Project, event: Event, received_at: dt.datetime | None = None
) -> EventRecord:
    return EventRecord.objects.create(
        project=project,
        event=event,
        data=[{"name": "Phone", "value": "+7 900"}],
        received_at=received_at or T0,
    )


def walk(
    client: Client, path: str, key: str, name: str, params: dict[str, Any] | None = None
) -> list[list[str]]:
    """Every page's ids, following `next` to the end."""
    pages: list[list[str]] = []
    params = dict(params or {})
    while True:
        response = get(client, path, key, params)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([item["id"] for item in body[name]])
        if body["next"] is None:
            return pages
        params["cursor"] = body["next"]
