"""The read API (issue 9): GET /api/external/orders and GET /api/external/events.

A CRM or back office reads a project's orders and event records out with a server key.
The one exception is a storefront's "where is my order" page: a browser key may ask for one
order by id and gets only its id, status and time of the last change, nothing personal.

The check chain is the tracking endpoints' own (http.py: answer_request around
admit_request), without a body: key (checks 2-3), rate
limit (12), a server key refused from a browser, the Origin rules (4-5: required for browser
keys, checked for server keys when sent), then 422 per bad query parameter. Other methods get
405 with `Allow`, and the answers carry the same CORS headers as tracking (the preflight
allows GET). Served by Django (orderreport/urls.py, the short API middleware chain of
orderreport/wsgi.py): reads are not the hot path.

Lists are newest first with keyset pagination on (received_at, id) from
orderreport.listing (never OFFSET): the `next` cursor names the last row's position, so rows
inserted while a client pages through land before its first page and never shift the pages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from orderreport.dbdeadline import query_deadline
from orderreport.events.models import EventRecord
from orderreport.ingest.http import (
    Answer,
    admit_request,
    answer_request,
    error,
    json_answer,
    note_key_used,
    require_server_key,
    to_response,
)
from orderreport.ingest.lookup import SERVER, KeyInfo
from orderreport.listing.queries import Cursor, Period, in_period, keyset_page
from orderreport.money import CURRENCIES
from orderreport.orders.models import Order, Status, StatusChange
from orderreport.orders.queries import OrderFilters, filtered_orders

ALLOW_READ = "GET, OPTIONS"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_ID_LENGTH = 128

Params = Mapping[str, str]
ReadView = Callable[[KeyInfo, Params], Answer]


class Invalid(Exception):
    """A bad query parameter; collected into the 422's `errors`."""


# --- the check chain ---------------------------------------------------------------------


def respond_read(view: ReadView, environ: Mapping[str, Any]) -> Answer:
    """A whole answer of a read endpoint: preflight, 405, the checks, the view, CORS."""
    # A hung database costs a read DB_QUERY_TIMEOUT_SECONDS per query, then a 503.
    with query_deadline():
        return answer_request(environ, "GET", ALLOW_READ, lambda: _checked_read(view, environ))


def _checked_read(view: ReadView, environ: Mapping[str, Any]) -> Answer:
    admitted = admit_request(environ)
    if isinstance(admitted, Answer):
        return admitted
    info = admitted.info
    query = environ.get("QUERY_STRING", "")
    try:
        parsed = parse_qs(query, keep_blank_values=True, max_num_fields=50)
    except ValueError:
        return error(422, "Invalid query string", "invalid_query")
    # A parameter sent twice counts once, as sent first.
    params = {name: values[0] for name, values in parsed.items()}
    answer = view(info, params)
    if answer.status == 200:
        note_key_used(info.key_id)
    return answer


# --- parameters --------------------------------------------------------------------------

# An unencoded "+" of an offset arrives as a space ("...T12:00:00 03:00").
_SPACED_OFFSET = re.compile(r"^(\d{4}-\d\d-\d\d[T ].*\d) (\d\d(:?\d\d)?)$")


def _moment(text: str, *, end: bool = False) -> dt.datetime:
    """An ISO 8601 date or datetime as an aware datetime (UTC when no offset is given).

    A date is its midnight in UTC; with `end`, the midnight after it (a half-open period's end,
    so that `created_to=2026-05-01` includes that whole day). A datetime given with `end` is
    included itself.
    """
    text = text.strip()
    text = _SPACED_OFFSET.sub(r"\1+\2", text)
    if len(text) == 10:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise Invalid("Must be an ISO 8601 date or date and time.") from None
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end else start
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("Must be an ISO 8601 date or date and time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment + dt.timedelta(microseconds=1) if end else moment
    except OverflowError:
        raise Invalid("Must be an ISO 8601 date or date and time.") from None


def _limit(text: str) -> int:
    if not text.strip().isdigit():
        raise Invalid(f"Must be an integer from 1 to {MAX_LIMIT}.")
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise Invalid(f"Must be an integer from 1 to {MAX_LIMIT}.")
    return value


def _cursor(text: str) -> Cursor:
    try:
        return Cursor.decode(text)
    except ValueError:
        raise Invalid("Invalid cursor: pass the `next` value of the previous page.") from None


class Parser:
    """Reads the parameters one by one and collects every bad one."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.errors: dict[str, list[str]] = {}

    def get(self, name: str, parse: Callable[[str], Any], default: Any = None) -> Any:
        text = self.params.get(name)
        if text is None or (text == "" and name != "cursor"):
            return default
        try:
            return parse(text)
        except Invalid as exc:
            self.errors[name] = [str(exc)]
            return default

    def invalid(self) -> Answer | None:
        if not self.errors:
            return None
        return error(422, "Validation error", "validation_error", errors=self.errors)


def _period(parser: Parser) -> Period:
    start = parser.get("created_from", _moment)
    end = parser.get("created_to", lambda t: _moment(t, end=True))
    if start is not None and end is not None and end <= start:
        parser.errors["created_to"] = ["Must be later than created_from."]
    return Period(start, end)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _page_answer(name: str, items: list[dict[str, Any]], next_cursor: Cursor | None) -> Answer:
    return json_answer({name: items, "next": next_cursor.encode() if next_cursor else None}, 200)


# --- GET /api/external/orders ------------------------------------------------------------


def _status(text: str) -> str:
    if text not in Status.values:
        raise Invalid(f"Unknown status {text!r}. Choose one of: {', '.join(Status.values)}.")
    return text


def _currency(text: str) -> str:
    code = text.strip().upper()
    if code not in CURRENCIES:
        raise Invalid(f"{text!r} is not an ISO 4217 currency code.")
    return code


def last_change() -> Coalesce:
    """When an order last changed (its status, or its fields through POST
    /api/orders/update), else when it was tracked.

    The expression of the index `order_project_updated` (orders/models.py): change both
    together, or `updated_since` reads every order of the project.
    """
    return Coalesce("updated_at", "received_at")


def _order_item(order: Order) -> dict[str, Any]:
    return {
        "id": order.external_id,
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "username": order.username,
        "email": order.email,
        "phone": order.phone,
        "products": order.products,
        "data": order.data,
        "created_at": _iso(order.received_at),
        "updated_at": _iso(order.updated_at or order.received_at),
        # The integration page's test order: not counted in reports or against the plan.
        "test": order.is_test,
    }


def _changed_by(change: StatusChange) -> str | None:
    if change.source == StatusChange.Source.API:
        return "API"
    user = change.changed_by
    if user is None:
        return None  # a member since removed
    return user.get_full_name() or user.email


def _history(order: Order) -> list[dict[str, Any]]:
    changes = order.status_changes.select_related("changed_by").order_by("changed_at", "id")
    return [
        {
            "from": c.from_status,
            "to": c.to_status,
            "at": _iso(c.changed_at),
            "by": _changed_by(c),
        }
        for c in changes
    ]


def _order_id(text: str) -> str:
    value = text.strip()
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise Invalid(f"Must be an order id of 1 to {MAX_ID_LENGTH} characters.")
    return value


def orders_answer(info: KeyInfo, params: Params) -> Answer:
    if "id" in params:
        return _one_order(info, params)
    refused = require_server_key(info)
    if refused is not None:
        return refused
    parser = Parser(params)
    filters = OrderFilters(
        period=_period(parser),
        currency=parser.get("currency", _currency, ""),
        status=parser.get("status", _status, ""),
    )
    updated_since = parser.get("updated_since", _moment)
    size = parser.get("limit", _limit, DEFAULT_LIMIT)
    after = parser.get("cursor", _cursor)
    invalid = parser.invalid()
    if invalid is not None:
        return invalid
    page = keyset_page(order_rows(info.project_id, filters, updated_since), after, size)
    return _page_answer("orders", [_order_item(o) for o in page.rows], page.next_cursor)


def order_rows(
    project_id: int, filters: OrderFilters, updated_since: dt.datetime | None = None
) -> QuerySet[Order]:
    """The orders a list page reads (before the keyset condition and order)."""
    qs = filtered_orders(project_id, filters).defer("user_agent", "origin", "ingest_tag")
    if updated_since is not None:
        qs = qs.alias(last_change=last_change()).filter(last_change__gte=updated_since)
    return qs


def _one_order(info: KeyInfo, params: Params) -> Answer:
    parser = Parser(params)
    order_id = parser.get("id", _order_id)
    if order_id is None and "id" not in parser.errors:
        parser.errors["id"] = ["Must be an order id of 1 to 128 characters."]
    invalid = parser.invalid()
    if invalid is not None:
        return invalid
    order = (
        Order.objects.filter(project_id=info.project_id, external_id=order_id)
        .defer("user_agent", "origin", "ingest_tag")
        .first()
    )
    if order is None:
        return error(404, "Order not found", "order_not_found")
    if info.kind != SERVER:
        # A storefront's "where is my order": nothing personal for a key in a page's source.
        return json_answer(
            {
                "id": order.external_id,
                "status": order.status,
                "updated_at": _iso(order.updated_at or order.received_at),
            },
            200,
        )
    item = _order_item(order)
    item["history"] = _history(order)
    return json_answer(item, 200)


# --- GET /api/external/events ------------------------------------------------------------


def events_answer(info: KeyInfo, params: Params) -> Answer:
    refused = require_server_key(info)
    if refused is not None:
        return refused
    parser = Parser(params)

    def event_id(text: str) -> int:
        found = info.events.get(text.strip())
        if found is None:
            raise Invalid("Unknown event key.")
        return found[0]

    event = parser.get("event", event_id)
    period = _period(parser)
    size = parser.get("limit", _limit, DEFAULT_LIMIT)
    after = parser.get("cursor", _cursor)
    invalid = parser.invalid()
    if invalid is not None:
        return invalid
    qs = (
        # Spam (form posts caught by ingest/spam.py) stays out until a member marks it
        # "not spam", as in the dashboard's lists.
        EventRecord.objects.filter(project_id=info.project_id, spam=False)
        .filter(in_period(period))
        .select_related("event")
        .only("id", "data", "received_at", "event__key", "event__name")
    )
    if event is not None:
        # Walks record_event_recent (event, -received_at, -id).
        qs = qs.filter(event_id=event)
    page = keyset_page(qs, after, size)
    items = [
        {
            "id": str(r.pk),
            "event": r.event.key,
            "event_name": r.event.name,
            "data": r.data,
            "received_at": _iso(r.received_at),
        }
        for r in page.rows
    ]
    return _page_answer("events", items, page.next_cursor)


# --- Django views (orderreport/urls.py) --------------------------------------------------


def django_view(view: ReadView) -> Any:
    # Exempt so that a POST gets the API's 405, not the dashboard's CSRF page.
    @csrf_exempt
    def wrapper(request: HttpRequest) -> HttpResponse:
        return to_response(respond_read(view, request.META))

    return wrapper


read_orders = django_view(orders_answer)
read_events = django_view(events_answer)
