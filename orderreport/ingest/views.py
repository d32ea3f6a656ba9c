"""The public tracking API: POST /api/orders/track and POST /api/events/track, and
POST /api/orders/update (server keys only).

`order_answer` and `event_answer` are the endpoints themselves, called after the contract's
checks (http.py). Production serves them through the plain WSGI application in
ingest/wsgi.py; `track_order` and `track_event` are the same endpoints as Django views, for
the URLconf (runserver, reverse()).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from orderreport.ingest.http import (
    Answer,
    BodyReader,
    TrackingView,
    UnreadableBody,
    declared_length,
    error,
    json_answer,
    note_key_used,
    require_server_key,
    respond,
    to_response,
)
from orderreport.ingest.lookup import KeyInfo
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.record import record_event, record_order
from orderreport.ingest.rows import Outcome, Result
from orderreport.ingest.schemas import EventPayload, OrderPayload, OrderUpdate, error_map
from orderreport.orders.services import update_order


def _validation_error(exc: ValidationError) -> Answer:
    return error(422, "Validation error", "validation_error", errors=error_map(exc))


def _refused(result: Result) -> Answer | None:
    """The answer for an item the recording rules refused (ingest/__init__.py)."""
    outcome = result.outcome
    if outcome is Outcome.CREATED:
        return None
    if outcome is Outcome.LIMIT_REACHED:
        return error(402, "Monthly order limit reached for this account.", "order_limit_reached")
    if outcome is Outcome.DUPLICATE:
        return error(409, "Order with this id already exists", "duplicate_order")
    if outcome is Outcome.EVENT_GONE:
        return error(401, "Invalid event key", "invalid_event_key")
    if outcome is Outcome.EVENT_INACTIVE:
        return error(401, "Event is not active", "event_inactive")
    # The key, its project or the account went between the key check and the insert.
    return error(401, "Invalid API key", "invalid_api_key")


def order_answer(info: KeyInfo, body: dict[str, Any], meta: RequestMeta) -> Answer:
    try:
        payload = OrderPayload.model_validate(body)
    except ValidationError as exc:
        return _validation_error(exc)
    result = record_order(info, payload, meta)
    refused = _refused(result)
    if refused is not None:
        return refused
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
    result = record_event(info, event_id, payload, meta)
    refused = _refused(result)
    if refused is not None:
        return refused
    note_key_used(info.key_id)
    return json_answer({"message": "Event tracked", "id": str(result.record_id)}, 201)


def update_answer(info: KeyInfo, body: dict[str, Any], meta: RequestMeta) -> Answer:
    """POST /api/orders/update: a partial update of one of the key's project's orders.

    Server keys only (a browser key sits in every shop's page source). No plan limit: the
    order was counted when it was tracked. The fields, the status change, its history row
    and its notifications commit together (orders/services.py: update_order).
    """
    refused = require_server_key(info)
    if refused is not None:
        return refused
    try:
        payload = OrderUpdate.model_validate(body)
    except ValidationError as exc:
        return _validation_error(exc)
    try:
        order = update_order(info.project_id, payload.id, payload.changes(), payload.status)
    except DjangoValidationError:  # a status the schema let through: never, but no 500
        return error(
            422, "Validation error", "validation_error", errors={"status": ["Unknown status."]}
        )
    if order is None:
        return error(404, "Order not found", "order_not_found")
    note_key_used(info.key_id)
    return json_answer({"message": "Order updated", "id": payload.id, "status": order.status}, 200)


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
update_order_view = _django_view(update_answer)
