"""Small assertions and builders shared by the write side's tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from orderreport.accounts.models import Plan
from orderreport.ingest.rows import EventItem, EventRow, OrderItem, OrderRow, new_tag


def assert_error(response: Any, status: int, message: str, code: str) -> dict[str, Any]:
    """The contract's error answer: JSON with `message` and `code`, the given status."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["message"] == message
    assert body["code"] == code
    return body


def assert_invalid(response: Any) -> dict[str, list[str]]:
    """A 422 "Validation error"; returns its `errors`."""
    body = assert_error(response, 422, "Validation error", "validation_error")
    errors: dict[str, list[str]] = body["errors"]
    assert errors, "a validation error names at least one field"
    for path, messages in errors.items():
        assert isinstance(path, str) and path
        assert messages and all(isinstance(m, str) and m for m in messages)
    return errors


def order(order_id: str = "order-1", **fields: Any) -> dict[str, Any]:
    """A minimal valid order body."""
    return {"id": order_id, "total": 1000, **fields}


def plan_with_limit(limit: int | None) -> Plan:
    plan, _ = Plan.objects.get_or_create(
        name=f"test-{limit}", defaults={"title": f"Test {limit}", "monthly_order_limit": limit}
    )
    return plan


def order_row(
    shop: Any,
    external_id: str,
    *,
    project_id: int | None = None,
    received_at: dt.datetime | None = None,
    **fields: Any,
) -> OrderRow:
    """An order row of the shop's project (or `project_id`), with plain defaults."""
    values: dict[str, Any] = {
        "project_id": shop.project.pk if project_id is None else project_id,
        "external_id": external_id,
        "total": 1000,
        "currency": "RUB",
        "username": "",
        "email": "",
        "phone": "",
        "products": [],
        "data": [],
        "origin": "https://example.com",
        "client_ip": None,
        "user_agent": "",
        "received_at": received_at or timezone.now(),
        "ingest_tag": new_tag(),
    }
    values.update(fields)
    return OrderRow(**values)


def order_item(
    shop: Any, external_id: str, period: dt.date | None = None, **fields: Any
) -> OrderItem:
    """An order of the shop, counted in `period` (default: the account's current one)."""
    return OrderItem(
        key_id=shop.key.pk,
        account_id=shop.account.pk,
        period_start=period or shop.account.current_period()[0],
        row=order_row(shop, external_id, **fields),
    )


def event_item(shop: Any, event_id: int | None = None, **fields: Any) -> EventItem:
    """A record of the shop's event (or `event_id`)."""
    values: dict[str, Any] = {
        "project_id": shop.project.pk,
        "event_id": shop.event.pk if event_id is None else event_id,
        "data": [],
        "origin": "https://example.com",
        "client_ip": None,
        "user_agent": "",
        "received_at": timezone.now(),
        "ingest_tag": new_tag(),
    }
    values.update(fields)
    return EventItem(key_id=shop.key.pk, row=EventRow(**values))
