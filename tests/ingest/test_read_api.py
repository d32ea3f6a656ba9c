"""The read API's answers: one order, the lists, and every error of the check chain.

Filters, pagination, tenant isolation and query plans: test_read_api_lists.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from orderreport.orders.services import change_status
from orderreport.projects import services
from orderreport.projects.models import ApiKey
from tests.conftest import Shop
from tests.ingest.helpers import assert_error, assert_invalid
from tests.ingest.read_helpers import EVENTS, ORDERS, T0, get, make_order, make_record

ISO_WITH_OFFSET = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$"


@pytest.fixture
def sk(shop: Shop) -> str:
    return services.create_server_key(shop.project, "CRM")[1]


def test_a_server_key_reads_one_order_with_its_history(client: Client, shop: Shop, sk: str) -> None:
    order = make_order(shop.project, external_id="A-1", total=99000, currency="USD")
    shop.user.first_name, shop.user.last_name = "Anna", "Owner"
    shop.user.save()
    change_status(order, "paid", by_user=shop.user)
    change_status(order, "shipped", source="api")

    response = get(client, ORDERS, sk, {"id": "A-1"})

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    history = body.pop("history")
    assert body == {
        "id": "A-1",
        "status": "shipped",
        "total": 99000,
        "currency": "USD",
        "username": order.username,
        "email": order.email,
        "phone": order.phone,
        "products": order.products,
        "data": order.data,
        "created_at": "2026-05-01T12:00:00+00:00",
        "updated_at": body["updated_at"],
        "test": False,
    }
    assert [(h["from"], h["to"], h["by"]) for h in history] == [
        ("new", "paid", "Anna Owner"),
        ("paid", "shipped", "API"),
    ]
    for moment in [body["updated_at"], *(h["at"] for h in history)]:
        assert dt.datetime.fromisoformat(moment).utcoffset() is not None
    assert body["updated_at"] == history[-1]["at"]


def test_the_history_names_a_member_without_a_name_by_e_mail(
    client: Client, shop: Shop, sk: str
) -> None:
    order = make_order(shop.project, external_id="A-2")
    change_status(order, "confirmed", by_user=shop.user)
    body = get(client, ORDERS, sk, {"id": "A-2"}).json()
    assert body["history"][0]["by"] == shop.user.email


def test_an_order_as_tracked_has_no_history_and_was_last_updated_when_created(
    client: Client, shop: Shop, sk: str
) -> None:
    make_order(shop.project, external_id="A-3")
    body = get(client, ORDERS, sk, {"id": "A-3"}).json()
    assert body["history"] == []
    assert body["status"] == "new"
    assert body["updated_at"] == body["created_at"]


def test_times_carry_an_offset(client: Client, shop: Shop, sk: str) -> None:
    import re

    make_order(shop.project, T0.replace(microsecond=123456), external_id="A-4")
    body = get(client, ORDERS, sk, {"id": "A-4"}).json()
    assert re.match(ISO_WITH_OFFSET, body["created_at"]), body["created_at"]
    assert body["created_at"] == "2026-05-01T12:00:00.123456+00:00"
    listed = get(client, ORDERS, sk).json()["orders"][0]
    assert re.match(ISO_WITH_OFFSET, listed["created_at"])
    assert re.match(ISO_WITH_OFFSET, listed["updated_at"])


def test_an_unknown_id_is_404(client: Client, shop: Shop, sk: str) -> None:
    make_order(shop.project, external_id="A-5")
    response = get(client, ORDERS, sk, {"id": "nope"})
    assert_error(response, 404, "Order not found", "order_not_found")


def test_the_list_answers_orders_newest_first_with_a_next_cursor(
    client: Client, shop: Shop, sk: str
) -> None:
    old = make_order(shop.project, T0 - dt.timedelta(hours=1))
    new = make_order(shop.project, T0)
    response = get(client, ORDERS, sk)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [o["id"] for o in body["orders"]] == [new.external_id, old.external_id]
    assert body["next"] is None
    assert "history" not in body["orders"][0]
    assert set(body["orders"][0]) == {
        "id",
        "status",
        "total",
        "currency",
        "username",
        "email",
        "phone",
        "products",
        "data",
        "created_at",
        "updated_at",
        "test",
    }


def test_it_says_which_orders_are_the_integration_pages_tests(
    client: Client, shop: Shop, sk: str
) -> None:
    make_order(shop.project, T0 - dt.timedelta(hours=1), external_id="real-1")
    make_order(shop.project, T0, external_id="test-1", is_test=True)
    listed = get(client, ORDERS, sk).json()["orders"]
    assert [(o["id"], o["test"]) for o in listed] == [("test-1", True), ("real-1", False)]
    assert get(client, ORDERS, sk, {"id": "test-1"}).json()["test"] is True


def test_an_empty_list(client: Client, shop: Shop, sk: str) -> None:
    assert get(client, ORDERS, sk).json() == {"orders": [], "next": None}
    assert get(client, EVENTS, sk).json() == {"events": [], "next": None}


def test_the_events_list(client: Client, shop: Shop, sk: str) -> None:
    first = make_record(shop.project, shop.event, T0 - dt.timedelta(minutes=1))
    second = make_record(shop.project, shop.event, T0)
    response = get(client, EVENTS, sk)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [e["id"] for e in body["events"]] == [str(second.pk), str(first.pk)]
    assert body["events"][0] == {
        "id": str(second.pk),
        "event": shop.event.key,
        "event_name": shop.event.name,
        "data": [{"name": "Phone", "value": "+7 900"}],
        "received_at": "2026-05-01T12:00:00+00:00",
    }
    assert body["next"] is None


# --- browser keys ------------------------------------------------------------------------


def test_a_browser_key_gets_only_id_status_and_time_for_one_order(
    client: Client, shop: Shop
) -> None:
    order = make_order(shop.project, external_id="B-1")
    change_status(order, "paid", source="api")
    response = get(client, ORDERS, shop.key.key, {"id": "B-1"}, origin=shop.origin)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"id", "status", "updated_at"}
    assert body["id"] == "B-1" and body["status"] == "paid"
    assert dt.datetime.fromisoformat(body["updated_at"]).utcoffset() is not None
    text = response.content.decode()
    for personal in [order.username, order.email, order.phone, "Tea", "ring twice", "1000"]:
        assert personal not in text
    assert response["Access-Control-Allow-Origin"] == shop.origin


def test_a_browser_key_needs_an_allowed_origin_for_one_order(client: Client, shop: Shop) -> None:
    make_order(shop.project, external_id="B-2")
    response = get(client, ORDERS, shop.key.key, {"id": "B-2"})
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")
    response = get(client, ORDERS, shop.key.key, {"id": "B-2"}, origin="https://evil.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")


def test_a_browser_key_gets_404_for_an_unknown_order(client: Client, shop: Shop) -> None:
    response = get(client, ORDERS, shop.key.key, {"id": "nope"}, origin=shop.origin)
    assert_error(response, 404, "Order not found", "order_not_found")


@pytest.mark.parametrize(
    ("path", "params"), [(ORDERS, {}), (ORDERS, {"status": "paid"}), (EVENTS, {})]
)
def test_a_browser_key_cannot_list(
    client: Client, shop: Shop, path: str, params: dict[str, str]
) -> None:
    make_order(shop.project)
    response = get(client, path, shop.key.key, params, origin=shop.origin)
    body = assert_error(response, 403, "This key can only track", "key_scope")
    assert "orders" not in body and "events" not in body


# --- the check chain ---------------------------------------------------------------------


@pytest.mark.parametrize("path", [ORDERS, EVENTS])
def test_a_missing_or_unknown_key_is_401(client: Client, shop: Shop, path: str) -> None:
    assert_error(get(client, path, None), 401, "API key missing", "api_key_missing")
    assert_error(get(client, path, "  "), 401, "API key missing", "api_key_missing")
    response = get(client, path, "sk_" + "x" * 40)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_an_inactive_server_key_is_401(client: Client, shop: Shop) -> None:
    key, raw = services.create_server_key(shop.project, "Old")
    ApiKey.objects.filter(pk=key.pk).update(is_active=False)
    from django.core.cache import cache

    from orderreport.ingest.lookup import cache_key

    cache.delete(cache_key(raw))
    assert_error(get(client, ORDERS, raw), 401, "Invalid API key", "invalid_api_key")


@pytest.mark.parametrize("path", [ORDERS, EVENTS])
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_MODE": "cors"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
    ],
)
def test_a_server_key_from_a_browser_is_403(
    client: Client, shop: Shop, sk: str, path: str, headers: dict[str, str]
) -> None:
    make_order(shop.project, external_id="C-1")
    response = get(client, path, sk, {"id": "C-1"}, origin=shop.origin, **headers)
    assert_error(
        response,
        403,
        "Server keys belong on servers: do not use them in a browser",
        "server_key_in_browser",
    )


def test_a_server_key_with_a_foreign_origin_is_403(client: Client, shop: Shop, sk: str) -> None:
    response = get(client, ORDERS, sk, origin="https://evil.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    assert get(client, ORDERS, sk, origin=shop.origin).status_code == 200


def test_the_rate_limit_applies(client: Client, shop: Shop, sk: str, settings: Any) -> None:
    settings.RATE_LIMIT_KEY_PER_SECOND = 0.001  # no refill while the test runs, however slow
    settings.RATE_LIMIT_KEY_BURST = 1
    assert get(client, ORDERS, sk).status_code == 200
    response = get(client, ORDERS, sk)
    assert_error(response, 429, "Too many requests", "rate_limited")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("path", [ORDERS, EVENTS, ORDERS + "/", EVENTS + "/"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD"])
def test_other_methods_are_405_with_allow(
    client: Client, shop: Shop, sk: str, path: str, method: str
) -> None:
    response = client.generic(method, path, b"{}", HTTP_X_API_KEY=sk)
    assert response.status_code == 405
    assert response["Allow"] == "GET, OPTIONS"
    if method != "HEAD":
        assert response.json() == {"message": "Method not allowed", "code": "method_not_allowed"}


@pytest.mark.parametrize("path", [ORDERS, EVENTS])
def test_the_cors_preflight_allows_get(client: Client, path: str) -> None:
    origin = "https://anything.example"
    response = client.options(path, HTTP_ORIGIN=origin)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "Content-Type, X-API-KEY"
    assert response["Access-Control-Max-Age"] == "86400"
    assert response["Vary"] == "Origin"


def test_errors_carry_cors_headers_too(client: Client, shop: Shop) -> None:
    response = get(client, ORDERS, shop.key.key, origin=shop.origin)
    assert response.status_code == 403
    assert response["Access-Control-Allow-Origin"] == shop.origin
    assert response["Vary"] == "Origin"


def test_a_trailing_slash_is_forgiven(client: Client, shop: Shop, sk: str) -> None:
    assert get(client, ORDERS + "/", sk).status_code == 200
    assert get(client, EVENTS + "/", sk).status_code == 200


# --- 422 per parameter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"currency": "XYZ"}, "currency"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-13-01"}, "updated_since"),
        ({"created_from": "2026-05-01T25:00"}, "created_from"),
        ({"created_to": "05/01/2026"}, "created_to"),
        ({"created_from": "2026-05-02", "created_to": "2026-05-01"}, "created_to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"id": ""}, "id"),
        ({"id": "x" * 129}, "id"),
    ],
)
def test_a_bad_order_parameter_is_422_naming_it(
    client: Client, shop: Shop, sk: str, params: dict[str, str], field: str
) -> None:
    errors = assert_invalid(get(client, ORDERS, sk, params))
    assert list(errors) == [field]


def test_the_unknown_status_message_names_the_allowed_values(
    client: Client, shop: Shop, sk: str
) -> None:
    errors = assert_invalid(get(client, ORDERS, sk, {"status": "lost"}))
    assert "new, confirmed, paid, shipped, completed, cancelled, refunded" in errors["status"][0]


def test_every_bad_parameter_is_named_at_once(client: Client, shop: Shop, sk: str) -> None:
    params = {"status": "x", "limit": "1000", "cursor": "y", "currency": "ZZZ"}
    errors = assert_invalid(get(client, ORDERS, sk, params))
    assert set(errors) == {"status", "limit", "cursor", "currency"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"event": "no-such-event"}, "event"),
        ({"created_from": "soon"}, "created_from"),
        ({"created_to": "2026-02-30"}, "created_to"),
        ({"limit": "501"}, "limit"),
        ({"cursor": "1.2.3"}, "cursor"),
    ],
)
def test_a_bad_event_parameter_is_422_naming_it(
    client: Client, shop: Shop, sk: str, params: dict[str, str], field: str
) -> None:
    errors = assert_invalid(get(client, EVENTS, sk, params))
    assert list(errors) == [field]


def test_unknown_parameters_are_ignored(client: Client, shop: Shop, sk: str) -> None:
    make_order(shop.project)
    response = get(client, ORDERS, sk, {"page": "2", "sort": "asc"})
    assert response.status_code == 200
    assert len(response.json()["orders"]) == 1


def test_an_unexpected_error_is_a_json_500(
    client: Client, shop: Shop, sk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderreport.ingest import read

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(read, "keyset_page", broken)
    assert_error(get(client, ORDERS, sk), 500, "Internal error", "internal_error")
