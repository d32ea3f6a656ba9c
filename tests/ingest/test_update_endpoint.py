"""POST /api/orders/update: server keys only, the tracking API's checks and error shape, a
partial update written with its history in one transaction, no quota, one tenant only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from orderreport.notify.models import Delivery
from orderreport.orders.models import Order, StatusChange
from orderreport.projects import services
from orderreport.projects.models import ApiKey
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, assert_invalid, used
from tests.notify.conftest import webhook_channel

URL = "/api/orders/update"
PRODUCTS = [{"name": "Sneakers", "price": 99000, "count": 1, "image": "https://example.com/a.jpg"}]
DATA = [{"name": "Comment", "value": "Ring twice"}]


@pytest.fixture
def server_key(shop: Shop) -> str:
    return services.create_server_key(shop.project, "CRM")[1]


def stored(shop: Shop, external_id: str = "A-1", **fields: Any) -> Order:
    values: dict[str, Any] = {
        "total": 1000,
        "currency": "RUB",
        "username": "Ann",
        "email": "ann@example.com",
        "phone": "+7 900",
        "products": PRODUCTS,
        "data": DATA,
        "received_at": timezone.now(),
        **fields,
    }
    return Order.objects.create(project=shop.project, external_id=external_id, **values)


def update(api: Api, key: str | None, body: Any, **kwargs: Any) -> Any:
    # A server's HTTP client: no Origin, no Fetch Metadata headers (unless a test adds them).
    kwargs.setdefault("origin", None)
    return api.post(URL, body, key, **kwargs)


def test_it_changes_the_status_and_writes_the_history(
    api: Api, shop: Shop, server_key: str
) -> None:
    order = stored(shop)
    response = update(api, server_key, {"id": "A-1", "status": "paid"})
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Order updated", "id": "A-1", "status": "paid"}
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.updated_at is not None
    (change,) = StatusChange.objects.filter(order=order)
    assert (change.from_status, change.to_status) == ("new", "paid")
    assert change.source == StatusChange.Source.API
    assert change.changed_by is None


def test_an_integer_id_finds_the_order_stored_as_its_string(
    api: Api, shop: Shop, server_key: str
) -> None:
    stored(shop, "100234")
    response = update(api, server_key, {"id": 100234, "status": "confirmed"})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == "100234"


def test_only_the_fields_sent_change_and_lists_are_replaced(
    api: Api, shop: Shop, server_key: str
) -> None:
    order = stored(shop)
    new_products = [{"name": "Boots", "price": 5000, "count": 2, "image": "https://example.com/b"}]
    response = update(
        api,
        server_key,
        {"id": "A-1", "total": 10000, "products": new_products, "data": [], "unknown": "ignored"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "new"
    order.refresh_from_db()
    assert order.total == 10000
    assert order.products == new_products
    assert order.data == []
    # Untouched: not sent.
    assert (order.currency, order.username, order.email, order.phone) == (
        "RUB",
        "Ann",
        "ann@example.com",
        "+7 900",
    )
    assert order.status == "new"
    assert order.updated_at is not None
    assert not StatusChange.objects.exists()


def test_fields_and_status_together(api: Api, shop: Shop, server_key: str) -> None:
    order = stored(shop)
    body = {
        "id": "A-1",
        "status": "shipped",
        "currency": "usd",
        "email": "New@Example.com",
        "phone": "",
        "username": None,
        "data": [{"name": "Track", "value": 123}],
    }
    response = update(api, server_key, body)
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.currency == "USD"
    assert order.email == "New@example.com"
    assert (order.phone, order.username) == ("", "")
    assert order.data == [{"name": "Track", "value": "123"}]
    assert order.products == PRODUCTS
    assert StatusChange.objects.get().to_status == "shipped"


def test_the_same_update_twice_is_harmless(api: Api, shop: Shop, server_key: str) -> None:
    channel = webhook_channel(shop, "https://example.com/hook", receives_status_changes=True)
    order = stored(shop)
    body = {"id": "A-1", "status": "paid", "total": 2000}
    first = update(api, server_key, body)
    order.refresh_from_db()
    updated_at = order.updated_at
    second = update(api, server_key, body)
    assert first.status_code == second.status_code == 200
    assert second.json() == {"message": "Order updated", "id": "A-1", "status": "paid"}
    assert StatusChange.objects.count() == 1
    assert Delivery.objects.filter(channel=channel).count() == 1
    order.refresh_from_db()
    assert order.updated_at == updated_at  # nothing changed the second time


def test_it_uses_no_quota(api: Api, shop: Shop, server_key: str) -> None:
    stored(shop)
    before = used(shop)
    for status in ("confirmed", "paid", "shipped"):
        assert update(api, server_key, {"id": "A-1", "status": status}).status_code == 200
    assert used(shop) == before


def test_a_browser_key_can_only_track(api: Api, shop: Shop) -> None:
    order = stored(shop)
    response = update(api, shop.key.key, {"id": "A-1", "status": "paid"}, origin=shop.origin)
    assert_error(response, 403, "This key can only track", "key_scope")
    order.refresh_from_db()
    assert order.status == "new"


def test_a_browser_key_still_passes_the_origin_check_first(api: Api, shop: Shop) -> None:
    response = update(api, shop.key.key, {"id": "A-1"}, origin="https://evil.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    response = update(api, shop.key.key, {"id": "A-1"})
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


def test_a_server_key_from_a_browser_is_refused(api: Api, shop: Shop, server_key: str) -> None:
    stored(shop)
    response = update(
        api,
        server_key,
        {"id": "A-1", "status": "paid"},
        origin=shop.origin,
        HTTP_SEC_FETCH_MODE="cors",
    )
    assert_error(
        response,
        403,
        "Server keys belong on servers: do not use them in a browser",
        "server_key_in_browser",
    )
    assert not StatusChange.objects.exists()


def test_a_server_key_with_an_allowed_origin_works_and_a_foreign_one_not(
    api: Api, shop: Shop, server_key: str
) -> None:
    stored(shop)
    ok = update(api, server_key, {"id": "A-1", "status": "paid"}, origin=shop.origin)
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == shop.origin
    foreign = update(api, server_key, {"id": "A-1", "status": "new"}, origin="https://evil.example")
    assert_error(foreign, 403, "Domain not allowed", "domain_not_allowed")


def test_missing_and_invalid_keys(api: Api, shop: Shop) -> None:
    assert_error(update(api, None, {"id": "A-1"}), 401, "API key missing", "api_key_missing")
    assert_error(update(api, "sk_nope", {"id": "A-1"}), 401, "Invalid API key", "invalid_api_key")


def test_a_deactivated_server_key_is_refused(api: Api, shop: Shop, server_key: str) -> None:
    stored(shop)
    assert update(api, server_key, {"id": "A-1", "status": "paid"}).status_code == 200
    services.set_key_active(ApiKey.objects.get(kind=ApiKey.Kind.SERVER), False)
    response = update(api, server_key, {"id": "A-1", "status": "shipped"})
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_a_body_over_the_limit_is_413(api: Api, shop: Shop, server_key: str, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 100
    stored(shop)
    body = {"id": "A-1", "username": "x" * 200}
    assert_error(update(api, server_key, body), 413, "Payload too large", "payload_too_large")


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', ""])
def test_invalid_json_is_422(api: Api, shop: Shop, server_key: str, raw: str) -> None:
    response = update(api, server_key, raw)
    assert_error(response, 422, "Invalid data payload", "invalid_payload")


def test_an_unknown_status_names_the_allowed_values(api: Api, shop: Shop, server_key: str) -> None:
    order = stored(shop)
    errors = assert_invalid(update(api, server_key, {"id": "A-1", "status": "lost", "total": 5}))
    assert list(errors) == ["status"]
    (message,) = errors["status"]
    assert "lost" in message
    for allowed in ("new", "confirmed", "paid", "shipped", "completed", "cancelled", "refunded"):
        assert allowed in message
    order.refresh_from_db()
    assert (order.status, order.total) == ("new", 1000)  # nothing of a refused update applies


def test_each_bad_field_is_named(api: Api, shop: Shop, server_key: str) -> None:
    stored(shop)
    body = {
        "id": "A-1",
        "status": None,
        "total": -1,
        "currency": "XXY",
        "email": "not an e-mail",
        "products": [{"name": "", "price": "1", "count": 0, "image": "ftp://x"}],
        "data": "nope",
    }
    errors = assert_invalid(update(api, server_key, body))
    for path in ("status", "total", "currency", "email", "products.0.name", "products.0.price"):
        assert path in errors, errors
    assert "data" in errors
    assert "id" in assert_invalid(update(api, server_key, {"status": "paid"}))
    assert "id" in assert_invalid(update(api, server_key, {"id": "  ", "status": "paid"}))


def test_an_unknown_id_is_404(api: Api, shop: Shop, server_key: str) -> None:
    response = update(api, server_key, {"id": "nope", "status": "paid"})
    assert_error(response, 404, "Order not found", "order_not_found")


def test_a_key_of_one_project_never_changes_another_projects_order(
    api: Api, shop: Shop, other_shop: Shop, server_key: str
) -> None:
    theirs = stored(other_shop, "B-1")
    stored(shop, "A-1")
    response = update(api, server_key, {"id": "B-1", "status": "cancelled", "total": 1})
    assert_error(response, 404, "Order not found", "order_not_found")
    # The same id in both projects: only the key's own project's order changes.
    same = stored(other_shop, "A-1")
    assert update(api, server_key, {"id": "A-1", "status": "paid"}).status_code == 200
    theirs.refresh_from_db()
    same.refresh_from_db()
    assert (theirs.status, theirs.total, same.status) == ("new", 1000, "new")
    assert not StatusChange.objects.filter(order__project=other_shop.project).exists()


def test_other_methods_are_405_and_preflight_is_answered(api: Api, shop: Shop) -> None:
    response = api.client.get(URL)
    body = assert_error(response, 405, "Method not allowed", "method_not_allowed")
    assert body
    assert response["Allow"] == "POST, OPTIONS"
    preflight = api.client.options(URL, HTTP_ORIGIN=shop.origin)
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == shop.origin
    assert "X-API-KEY" in preflight["Access-Control-Allow-Headers"]


def test_the_django_view_and_the_trailing_slash_answer_alike(
    api: Api, shop: Shop, server_key: str
) -> None:
    stored(shop)
    plain = Client()  # Django's handler and the URLconf, not the production WSGI app
    response = plain.post(
        URL + "/",
        {"id": "A-1", "status": "paid"},
        content_type="application/json",
        HTTP_X_API_KEY=server_key,
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Order updated", "id": "A-1", "status": "paid"}
    slash = api.post(URL + "/", {"id": "A-1", "status": "shipped"}, server_key, origin=None)
    assert slash.json() == {"message": "Order updated", "id": "A-1", "status": "shipped"}
    response = plain.post(URL, "{", content_type="application/json", HTTP_X_API_KEY=server_key)
    assert_error(response, 422, "Invalid data payload", "invalid_payload")
    response = plain.post(
        URL,
        {"id": "A-1"},
        content_type="application/json",
        HTTP_X_API_KEY=shop.key.key,
        HTTP_ORIGIN=shop.origin,
    )
    assert_error(response, 403, "This key can only track", "key_scope")


def test_the_order_page_shows_the_api_step(
    api: Api, client: Client, shop: Shop, server_key: str
) -> None:
    order = stored(shop)
    assert update(api, server_key, {"id": "A-1", "status": "paid"}).status_code == 200
    client.force_login(shop.user)
    page = client.get(f"/projects/{shop.project.pk}/orders/{order.pk}/").content.decode()
    assert "via the API" in page


def test_the_guides_curl_body_answers_200(api: Api, shop: Shop, server_key: str) -> None:
    stored(shop, "A-1001")
    body = '{"id": "A-1001", "status": "paid", "phone": "+998901112233"}'  # docs/integration.md
    response = update(api, server_key, body)
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Order updated", "id": "A-1001", "status": "paid"}
    assert Order.objects.get(external_id="A-1001").phone == "+998901112233"
