"""The public tracking API: POST /api/orders/track and POST /api/events/track.

`order_answer` and `event_answer` are the endpoints themselves, called after the contract's
checks (http.py). Production serves them through the plain WSGI application in
tracking/wsgi.py; `track_order` and `track_event` are the same endpoints as Django views, for
the URLconf (runserver, reverse()).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from orderreport.events.services import record_event
from orderreport.ingest.http import (
    Answer,
    BodyReader,
    TrackingView,
    UnreadableBody,
    declared_length,
    error,
    json_answer,
    note_key_used,
    respond,
    to_response,
)
from orderreport.ingest.lookup import KeyInfo
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.schemas import EventPayload, OrderPayload, error_map
from orderreport.orders.services import Outcome, record_order


def _validation_error(exc: ValidationError) -> Answer:
    return error(422, "Validation error", "validation_error", errors=error_map(exc))


def order_answer(info: KeyInfo, body: dict[str, Any], meta: RequestMeta) -> Answer:
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
    return json_answer({"message": "Order tracked", "id": payload.id}, 201)


def event_answer(info: KeyInfo, body: dict[str, Any], meta: RequestMeta) -> Answer:
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
    return json_answer({"message": "Event tracked", "id": str(record_id)}, 201)


def _django_reader(request: HttpRequest) -> BodyReader:
    def read(limit: int) -> bytes | None:
        declared = declared_length(request.META)
        if declared > limit:
            return None
        if not declared:
            return b""
        try:
            body = request.body
        except RequestDataTooBig:
            return None
        except UnreadablePostError as exc:
            raise UnreadableBody from exc
        return body if len(body) <= limit else None

    return read


def _django_view(view: TrackingView) -> Any:
    @csrf_exempt
    def wrapper(request: HttpRequest) -> HttpResponse:
        return to_response(respond(view, request.META, _django_reader(request)))

    return wrapper


track_order = _django_view(order_answer)
track_event = _django_view(event_answer)
