"""Server keys on the tracking API: no Origin needed, an Origin that is sent must be allowed,
refused from a browser, stored hashed, rotation and deactivation take effect on the next
request (also once cached), and browser keys are unchanged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderreport.ingest.admission import admit
from orderreport.ingest.http import require_server_key
from orderreport.ingest.lookup import (
    BROWSER,
    SERVER,
    cache_key,
    get_key_info,
    stored_cache_key,
)
from orderreport.orders.models import Order
from orderreport.projects import services
from orderreport.projects.models import ApiKey
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order

BROWSER_MESSAGE = "Server keys belong on servers: do not use them in a browser"


@pytest.fixture
def server_key(shop: Shop) -> tuple[ApiKey, str]:
    return services.create_server_key(shop.project, "CRM")


def track(api: Api, raw: str, order_id: str, **kwargs: Any) -> Any:
    # A server's HTTP client (cURL, PHP, Python): no Origin, no Fetch Metadata headers.
    kwargs.setdefault("origin", None)
    return api.order(order(order_id), raw, **kwargs)


def test_a_server_key_tracks_an_order_without_origin(
    api: Api, shop: Shop, server_key: tuple[ApiKey, str]
) -> None:
    _key, raw = server_key
    assert raw.startswith("sk_")
    response = track(api, raw, "s-1")
    assert response.status_code == 201, response.content
    stored = Order.objects.get(project=shop.project, external_id="s-1")
    assert stored.origin == ""


def test_a_server_key_tracks_events_too(
    api: Api, shop: Shop, server_key: tuple[ApiKey, str]
) -> None:
    body = {"event": shop.event.key, "data": []}
    response = api.event(body, server_key[1], origin=None)
    assert response.status_code == 201, response.content


def test_a_server_key_with_an_allowed_origin_is_accepted(
    api: Api, shop: Shop, server_key: tuple[ApiKey, str]
) -> None:
    # The guide's cURL lines send the shop's Origin: they work with a server key too.
    assert track(api, server_key[1], "s-2", origin=shop.origin).status_code == 201


def test_a_server_key_with_a_foreign_origin_is_refused(
    api: Api, server_key: tuple[ApiKey, str]
) -> None:
    response = track(api, server_key[1], "s-3", origin="https://evil.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    response = track(api, server_key[1], "s-3", origin="null")
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_MODE": "cors"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_MODE": "cors", "HTTP_SEC_FETCH_SITE": "same-origin"},
    ],
)
@pytest.mark.parametrize("origin", [None, "https://example.com", "https://evil.example"])
def test_a_server_key_sent_from_a_browser_is_refused(
    api: Api, server_key: tuple[ApiKey, str], headers: dict[str, str], origin: str | None
) -> None:
    response = track(api, server_key[1], "s-4", origin=origin, **headers)
    assert_error(response, 403, BROWSER_MESSAGE, "server_key_in_browser")
    assert not Order.objects.exists()


def test_a_browser_key_from_a_browser_is_unchanged(api: Api, shop: Shop) -> None:
    headers = {"HTTP_SEC_FETCH_MODE": "cors", "HTTP_SEC_FETCH_SITE": "cross-site"}
    assert api.order(order("b-1"), shop.key.key, **headers).status_code == 201
    # A browser key still needs an Origin, whatever else is sent.
    response = api.order(order("b-2"), shop.key.key, origin=None)
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


def test_the_database_holds_no_server_key_value(shop: Shop, server_key: tuple[ApiKey, str]) -> None:
    key, raw = server_key
    key.refresh_from_db()
    assert key.kind == ApiKey.Kind.SERVER
    assert key.key != raw and raw not in key.key
    assert len(key.key) == 64 and not key.key.startswith("sk_")
    assert key.prefix == raw[:8] and key.prefix.startswith("sk_")
    assert not ApiKey.objects.filter(key__startswith="sk_").exists()
    assert not ApiKey.objects.filter(key__contains=raw[8:]).exists()


def test_the_stored_hash_is_not_a_key(api: Api, server_key: tuple[ApiKey, str]) -> None:
    key, _raw = server_key
    response = track(api, key.key, "h-1", origin="https://example.com")
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_a_rotated_value_is_refused_at_once_even_when_cached(
    api: Api, server_key: tuple[ApiKey, str]
) -> None:
    key, old = server_key
    assert track(api, old, "r-1").status_code == 201  # the old value is now cached
    assert track(api, old, "r-2").status_code == 201
    new = services.rotate_server_key(key)
    assert new != old and new.startswith("sk_")
    assert_error(track(api, old, "r-3"), 401, "Invalid API key", "invalid_api_key")
    assert track(api, new, "r-4").status_code == 201
    # Rotating again also drops the now cached second value.
    newer = services.rotate_server_key(key)
    assert_error(track(api, new, "r-5"), 401, "Invalid API key", "invalid_api_key")
    assert track(api, newer, "r-6").status_code == 201


def test_a_rotated_value_is_refused_when_it_was_cached_as_the_only_entry(
    server_key: tuple[ApiKey, str],
) -> None:
    key, old = server_key
    assert get_key_info(old) is not None  # cached through the usual path
    services.rotate_server_key(key)
    assert get_key_info(old) is None


def test_a_deactivated_or_deleted_server_key_is_refused(
    api: Api, server_key: tuple[ApiKey, str]
) -> None:
    key, raw = server_key
    assert track(api, raw, "d-1").status_code == 201
    services.set_key_active(key, False)
    assert_error(track(api, raw, "d-2"), 401, "Invalid API key", "invalid_api_key")
    services.set_key_active(key, True)
    assert track(api, raw, "d-3").status_code == 201
    services.delete_api_key(key)
    assert_error(track(api, raw, "d-4"), 401, "Invalid API key", "invalid_api_key")


def test_an_unknown_server_key_is_refused(api: Api, shop: Shop) -> None:
    response = track(api, "sk_" + "x" * 43, "u-1")
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_keyinfo_says_the_kind(shop: Shop, server_key: tuple[ApiKey, str]) -> None:
    browser = get_key_info(shop.key.key)
    server = get_key_info(server_key[1])
    assert browser is not None and browser.kind == BROWSER
    assert server is not None and server.kind == SERVER
    assert server.project_id == browser.project_id == shop.project.pk


def test_both_kinds_name_the_same_cache_entry_from_their_row(
    shop: Shop, server_key: tuple[ApiKey, str]
) -> None:
    key, raw = server_key
    assert stored_cache_key(key.key, key.kind) == cache_key(raw)
    assert stored_cache_key(shop.key.key, shop.key.kind) == cache_key(shop.key.key)


def test_require_server_key_answers_key_scope_for_a_browser_key(
    shop: Shop, server_key: tuple[ApiKey, str]
) -> None:
    browser = get_key_info(shop.key.key)
    assert browser is not None
    answer = require_server_key(browser)
    assert answer is not None
    assert answer.status == 403
    assert answer.headers["Content-Type"] == "application/json"
    assert orjson.loads(answer.body) == {"message": "This key can only track", "code": "key_scope"}
    server = get_key_info(server_key[1])
    assert server is not None
    assert require_server_key(server) is None


def test_cached_keys_of_both_kinds_cost_no_query(
    api: Api, shop: Shop, server_key: tuple[ApiKey, str]
) -> None:
    raw = server_key[1]
    assert api.order(order("w-1"), shop.key.key).status_code == 201  # both now cached
    assert track(api, raw, "w-2").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        for key in (shop.key.key, raw):
            info, retry_after = admit(key, "127.0.0.1")
            assert info is not None and retry_after == 0
        # Refused after the key check: nothing reaches the database either.
        foreign = api.order(order("w-3"), shop.key.key, origin="https://evil.example")
        assert foreign.status_code == 403
        browser = track(api, raw, "w-4", HTTP_SEC_FETCH_MODE="cors")
        assert browser.status_code == 403
        assert api.order("[]", shop.key.key).status_code == 422
        assert api.post("/api/orders/track", "[]", raw, origin=None).status_code == 422
    assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]
