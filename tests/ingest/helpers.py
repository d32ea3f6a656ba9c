"""Small assertions shared by the tracking API tests."""

from __future__ import annotations

from typing import Any

from orderreport.accounts.models import Plan


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
