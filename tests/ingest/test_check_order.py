"""The contract's "Checks, in this order" table: each row's answer, and the first failing
check is the one that answers."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orderreport.events.models import EventRecord
from orderreport.orders.models import Order
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, assert_invalid, order

PATHS = ["/api/orders/track", "/api/events/track"]
TOO_LARGE = b'{"id": "x", "total": 1, "pad": "' + b"a" * (64 * 1024) + b'"}'


def event_body(shop: Shop) -> dict[str, object]:
    return {"event": shop.event.key, "data": []}


@pytest.mark.parametrize("path", PATHS)
def test_it_answers_413_first_even_without_a_key(api: Api, shop: Shop, path: str) -> None:
    response = api.post(path, TOO_LARGE, key=None, origin=None)
    assert_error(response, 413, "Payload too large", "payload_too_large")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("key", [None, "", "   "])
def test_it_answers_401_api_key_missing(api: Api, shop: Shop, path: str, key: str | None) -> None:
    response = api.post(path, b"not json", key=key, origin="null")
    assert_error(response, 401, "API key missing", "api_key_missing")


@pytest.mark.parametrize("path", PATHS)
def test_it_answers_the_same_401_for_unknown_and_inactive_keys(
    api: Api, shop: Shop, path: str
) -> None:
    unknown = api.post(path, order(), key="or_unknown")
    shop.key.is_active = False
    shop.key.save()
    inactive = api.post(path, order(), key=shop.key.key)
    assert_error(unknown, 401, "Invalid API key", "invalid_api_key")
    assert_error(inactive, 401, "Invalid API key", "invalid_api_key")
    assert unknown.content == inactive.content


@pytest.mark.parametrize("path", PATHS)
def test_it_checks_the_key_before_the_origin(api: Api, shop: Shop, path: str) -> None:
    response = api.post(path, b"{", key="or_wrong", origin="null")
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("origin", [None, "", "null", "example.com", "https://example.com/"])
def test_it_answers_403_invalid_origin(api: Api, shop: Shop, path: str, origin: str | None) -> None:
    response = api.post(path, order(), key=shop.key.key, origin=origin)
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


@pytest.mark.parametrize("path", PATHS)
def test_it_checks_the_origin_before_the_body(api: Api, shop: Shop, path: str) -> None:
    response = api.post(path, b"{not json", key=shop.key.key, origin="null")
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


@pytest.mark.parametrize("path", PATHS)
def test_it_checks_the_domain_before_the_body(api: Api, shop: Shop, path: str) -> None:
    response = api.post(path, b"{not json", key=shop.key.key, origin="https://evil.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b'"text"', b"null", b"42", b"true"])
def test_it_answers_422_invalid_payload_for_non_objects(
    api: Api, shop: Shop, path: str, body: bytes
) -> None:
    response = api.post(path, body, key=shop.key.key)
    assert_error(response, 422, "Invalid data payload", "invalid_payload")
    assert "errors" not in response.json()


def test_it_answers_422_validation_error_with_the_bad_fields(api: Api, shop: Shop) -> None:
    response = api.order({"id": "x", "total": "100"}, shop.key.key)
    assert assert_invalid(response) == {"total": ["Must be an integer."]}


def test_it_validates_fields_before_looking_up_the_event(api: Api, shop: Shop) -> None:
    response = api.event({"event": "no-such-event", "data": "x"}, shop.key.key)
    assert list(assert_invalid(response)) == ["data"]


def test_it_answers_401_for_an_unknown_event_key(api: Api, shop: Shop) -> None:
    response = api.event({"event": "no-such-event", "data": []}, shop.key.key)
    assert_error(response, 401, "Invalid event key", "invalid_event_key")
    assert not EventRecord.objects.exists()


def test_it_answers_401_for_an_inactive_event(api: Api, shop: Shop) -> None:
    shop.event.is_active = False
    shop.event.save()
    response = api.event(event_body(shop), shop.key.key)
    assert_error(response, 401, "Event is not active", "event_inactive")
    assert not EventRecord.objects.exists()


def test_it_answers_409_for_a_duplicate_order_id(api: Api, shop: Shop) -> None:
    assert api.order(order("dup"), shop.key.key).status_code == 201
    response = api.order(order("dup", total=5), shop.key.key)
    assert_error(response, 409, "Order with this id already exists", "duplicate_order")
    assert Order.objects.get(external_id="dup").total == 1000


def test_it_answers_201_for_orders_and_events(api: Api, shop: Shop) -> None:
    response = api.order(order("o-1"), shop.key.key)
    assert response.status_code == 201
    assert response.json() == {"message": "Order tracked", "id": "o-1"}
    response = api.event(event_body(shop), shop.key.key)
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Event tracked"
    assert EventRecord.objects.get(pk=int(body["id"])).project == shop.project


@pytest.mark.parametrize("path", ["/api/orders/track/", "/api/events/track/"])
def test_it_forgives_a_trailing_slash(api: Api, shop: Shop, path: str) -> None:
    body = order() if "orders" in path else event_body(shop)
    assert api.post(path, body, key=shop.key.key).status_code == 201


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
def test_it_answers_405_in_json_with_an_allow_header(
    client: Client, shop: Shop, path: str, method: str
) -> None:
    response = client.generic(
        method,
        path,
        json.dumps(order()),
        content_type="application/json",
        HTTP_X_API_KEY=shop.key.key,
        HTTP_ORIGIN=shop.origin,
    )
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":
        assert response.json() == {"message": "Method not allowed", "code": "method_not_allowed"}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/", "/api/orders", "/api/orders/track/extra", "/api/nope", "/api/events/"]
)
@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
def test_it_answers_unknown_api_paths_with_a_json_404(
    client: Client, path: str, method: str
) -> None:
    response = client.generic(method, path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Not found", "code": "not_found"}
