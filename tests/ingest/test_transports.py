"""Both ways the endpoints are served answer alike.

Production serves the tracking endpoints with a plain WSGI application (tracking/wsgi.py),
which every other test here goes through. The same endpoints are Django views in the URLconf
(for `runserver`); these tests send the same requests through Django's own handler.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from orderreport.orders.models import Order
from tests.conftest import ApiClient, Shop
from tests.ingest.helpers import assert_error, order

PATHS = ["/api/orders/track", "/api/orders/track/", "/api/events/track"]


def clients() -> list[Any]:
    return [pytest.param(Client, id="django-view"), pytest.param(ApiClient, id="plain-wsgi")]


def post(client: Client, path: str, body: Any, shop: Shop, **extra: str) -> Any:
    headers = {"HTTP_X_API_KEY": shop.key.key, "HTTP_ORIGIN": "https://example.com", **extra}
    return client.generic("POST", path, json.dumps(body), "application/json", **headers)


@pytest.mark.parametrize("make_client", clients())
def test_it_records_an_order_either_way(make_client: type[Client], shop: Shop) -> None:
    response = post(make_client(), "/api/orders/track/", order("both-1"), shop)
    assert response.status_code == 201
    assert response.json() == {"message": "Order tracked", "id": "both-1"}
    assert response["Access-Control-Allow-Origin"] == "https://example.com"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert Order.objects.filter(project=shop.project, external_id="both-1").exists()


@pytest.mark.parametrize("make_client", clients())
def test_it_records_an_event_either_way(make_client: type[Client], shop: Shop) -> None:
    response = post(make_client(), "/api/events/track", {"event": shop.event.key, "data": []}, shop)
    assert response.status_code == 201
    assert response.json()["message"] == "Event tracked"


@pytest.mark.parametrize("make_client", clients())
@pytest.mark.parametrize("path", PATHS)
def test_it_refuses_alike_either_way(make_client: type[Client], path: str, shop: Shop) -> None:
    client = make_client()
    missing = client.generic("POST", path, "{}", "application/json")
    assert_error(missing, 401, "API key missing", "api_key_missing")
    foreign = post(client, path, order(), shop, HTTP_ORIGIN="https://evil.example")
    assert_error(foreign, 403, "Domain not allowed", "domain_not_allowed")
    big = post(client, path, {"id": "x" * 2_000_000, "total": 1}, shop)
    assert_error(big, 413, "Payload too large", "payload_too_large")
    wrong = client.get(path, HTTP_ORIGIN="https://example.com")
    assert_error(wrong, 405, "Method not allowed", "method_not_allowed")
    assert wrong["Allow"] == "POST, OPTIONS"
    preflight = client.options(path, HTTP_ORIGIN="https://example.com")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    bad_host = post(client, path, order(), shop, HTTP_HOST="evil.example")
    assert_error(bad_host, 400, "Bad request", "bad_request")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_live_server_serves_the_api_as_production_does(live_server: Any) -> None:
    import httpx

    from tests.conftest import make_shop

    shop = make_shop()
    headers = {"X-API-KEY": shop.key.key, "Origin": "https://example.com"}
    order_answer = httpx.post(
        f"{live_server.url}/api/orders/track", json=order("live-1"), headers=headers
    )
    assert order_answer.status_code == 201
    # Django's SecurityMiddleware would have added a Referrer-Policy: this came the plain way.
    assert "referrer-policy" not in order_answer.headers
    assert order_answer.headers["x-content-type-options"] == "nosniff"
    page = httpx.get(f"{live_server.url}/accounts/login/")
    assert page.headers["referrer-policy"] == "same-origin"  # pages still go through Django
