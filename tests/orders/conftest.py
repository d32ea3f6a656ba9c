"""Orders written straight into the database, with the times the tests need."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from orderreport.orders.models import Order
from orderreport.projects.models import Project

_numbers = itertools.count(1)

MakeOrder = Callable[..., Order]


@pytest.fixture
def make_order(db: None) -> MakeOrder:
    def make(project: Project, received_at: dt.datetime | None = None, **fields: Any) -> Order:
        n = next(_numbers)
        values: dict[str, Any] = {
            "external_id": f"order-{n}",
            "total": 99000,
            "currency": "RUB",
            "username": f"customer {n}",
            "received_at": received_at or dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC),
        }
        values.update(fields)
        return Order.objects.create(project=project, **values)

    return make
