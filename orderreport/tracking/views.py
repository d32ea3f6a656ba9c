"""The public tracking API: POST /api/orders/track and POST /api/events/track."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from pydantic import ValidationError

from orderreport.events.services import record_event
from orderreport.orders.services import Outcome, record_order
from orderreport.tracking.http import (
    cors,
    error,
    json_response,
    note_key_used,
    tracking_checks,
)
from orderreport.tracking.lookup import KeyInfo
from orderreport.tracking.meta import RequestMeta
from orderreport.tracking.schemas import EventPayload, OrderPayload, error_map


def _validation_error(exc: ValidationError) -> HttpResponse:
    return error(422, "Validation error", "validation_error", errors=error_map(exc))


@cors
@tracking_checks
def track_order(
    request: HttpRequest, info: KeyInfo, body: dict[str, Any], meta: RequestMeta
) -> HttpResponse:
    try:
        payload = OrderPayload.model_validate(body)
    except ValidationError as exc:
        return _validation_error(exc)
    result = record_order(info.project_id, info.account_id, info.billing_anchor, payload, meta)
    if result.outcome is Outcome.LIMIT_REACHED:
        return error(402, "Monthly order limit reached for this account.", "order_limit_reached")
    if result.outcome is Outcome.DUPLICATE:
        return error(409, "Order with this id already exists", "duplicate_order")
    if result.outcome is Outcome.GONE:
        return error(401, "Invalid API key", "invalid_api_key")
    note_key_used(info.key_id)
    return json_response({"message": "Order tracked", "id": payload.id}, 201)


@cors
@tracking_checks
def track_event(
    request: HttpRequest, info: KeyInfo, body: dict[str, Any], meta: RequestMeta
) -> HttpResponse:
    try:
        payload = EventPayload.model_validate(body)
    except ValidationError as exc:
        return _validation_error(exc)
    event = info.events.get(payload.event)
    if event is None:
        return error(401, "Invalid event key", "invalid_event_key")
    event_id, active = event
    if not active:
        return error(401, "Event is not active", "event_inactive")
    record_id = record_event(info.project_id, event_id, payload, meta)
    note_key_used(info.key_id)
    return json_response({"message": "Event tracked", "id": str(record_id)}, 201)
