"""CORS: the preflight, and Allow-Origin on every POST answer so pages can read errors."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Api, Shop
from tests.ingest.helpers import order, plan_with_limit

PATHS = ["/api/orders/track", "/api/events/track"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "origin", ["https://example.com", "https://not-a-customer.example", "http://localhost:3000"]
)
def test_it_answers_a_preflight_for_any_origin(
    client: Client, db: None, path: str, origin: str
) -> None:
    response = client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-api-key",
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "Content-Type, X-API-KEY"
    assert response["Access-Control-Max-Age"] == "86400"
    assert response["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in response


def test_it_answers_a_preflight_without_touching_the_database(
    client: Client, db: None, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = client.options("/api/orders/track", HTTP_ORIGIN="https://example.com")
    assert response.status_code == 204


def cases(shop: Shop, other: Shop) -> list[tuple[str, bytes | dict[str, object], str | None, int]]:
    big = b'{"pad": "' + b"a" * 70_000 + b'"}'
    return [
        ("/api/orders/track", order("ok"), shop.key.key, 201),
        ("/api/orders/track", order("ok"), shop.key.key, 409),
        ("/api/events/track", {"event": shop.event.key, "data": []}, shop.key.key, 201),
        ("/api/orders/track", big, shop.key.key, 413),
        ("/api/orders/track", order(), None, 401),
        ("/api/orders/track", order(), "or_unknown", 401),
        ("/api/orders/track", b"{", shop.key.key, 422),
        ("/api/orders/track", {"id": ""}, shop.key.key, 422),
        ("/api/events/track", {"event": "nope", "data": []}, shop.key.key, 401),
        ("/api/orders/track", order("limited"), other.key.key, 402),
    ]


def test_it_lets_the_page_read_every_answer(api: Api, shop: Shop, other_shop: Shop) -> None:
    other_shop.account.plan = plan_with_limit(0)
    other_shop.account.save()
    for path, body, key, status in cases(shop, other_shop):
        origin = shop.origin if key != other_shop.key.key else other_shop.origin
        response = api.post(path, body, key, origin=origin)
        assert response.status_code == status, (path, body, response.content)
        assert response["Access-Control-Allow-Origin"] == origin
        assert response["Vary"] == "Origin"
        assert "Access-Control-Allow-Credentials" not in response
        assert "message" in response.json()


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "https://example.com/path", "not an origin"]
)
def test_it_echoes_even_a_refused_origin_so_the_page_sees_403(
    api: Api, shop: Shop, origin: str
) -> None:
    response = api.order(order(), shop.key.key, origin=origin)
    assert response.status_code == 403
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Vary"] == "Origin"


def test_it_adds_cors_headers_to_a_405(api: Api, shop: Shop) -> None:
    response = api.client.get("/api/orders/track", HTTP_ORIGIN=shop.origin)
    assert response.status_code == 405
    assert response["Access-Control-Allow-Origin"] == shop.origin
    assert response["Vary"] == "Origin"
