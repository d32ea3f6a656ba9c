"""Rate limits per API key and per client address: 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from orderreport.accounts.services import orders_used
from orderreport.orders.models import Order
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, order

# A burst of 3 refilled at 0.001/s: the fourth request in a test is always over.
SLOW = 0.001


def assert_limited(response: Any) -> int:
    assert_error(response, 429, "Too many requests", "rate_limited")
    retry_after = response["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert int(retry_after) >= 1
    # A page's script can read it across origins (the guide's helper runs on the shop's page).
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
    return int(retry_after)


@pytest.fixture
def per_key_limit(settings: Any) -> None:
    settings.RATE_LIMIT_KEY_PER_SECOND = SLOW
    settings.RATE_LIMIT_KEY_BURST = 3


@pytest.fixture
def per_address_limit(settings: Any) -> None:
    settings.RATE_LIMIT_IP_PER_SECOND = SLOW
    settings.RATE_LIMIT_IP_BURST = 3


def test_it_limits_requests_per_key(
    api: Api, shop: Shop, other_shop: Shop, per_key_limit: None
) -> None:
    for n in range(3):
        assert api.order(order(f"o{n}"), shop.key.key).status_code == 201
    response = api.order(order("o3"), shop.key.key)
    assert_limited(response)
    assert response["Access-Control-Allow-Origin"] == shop.origin
    # Another key from the same address has its own budget.
    response = api.order(order("o3"), other_shop.key.key, origin=other_shop.origin)
    assert response.status_code == 201


def test_it_counts_orders_and_events_against_one_key(
    api: Api, shop: Shop, per_key_limit: None
) -> None:
    event = {"event": shop.event.key, "data": []}
    assert api.event(event, shop.key.key).status_code == 201
    assert api.order(order("a"), shop.key.key).status_code == 201
    assert api.event(event, shop.key.key).status_code == 201
    assert_limited(api.event(event, shop.key.key))
    assert_limited(api.order(order("b"), shop.key.key))


def test_it_stores_nothing_and_counts_no_quota_for_a_limited_order(
    api: Api, shop: Shop, per_key_limit: None
) -> None:
    for n in range(3):
        api.order(order(f"o{n}"), shop.key.key)
    assert_limited(api.order(order("over"), shop.key.key))
    assert not Order.objects.filter(external_id="over").exists()
    assert orders_used(shop.account) == 3


def test_it_limits_requests_per_client_address(
    api: Api, shop: Shop, per_address_limit: None
) -> None:
    address = "198.51.100.7"
    for n in range(3):
        response = api.order(order(f"o{n}"), shop.key.key, REMOTE_ADDR=address)
        assert response.status_code == 201
    assert_limited(api.order(order("o3"), shop.key.key, REMOTE_ADDR=address))
    # The same key from another address is still welcome.
    response = api.order(order("o3"), shop.key.key, REMOTE_ADDR="198.51.100.8")
    assert response.status_code == 201


def test_it_answers_an_unknown_key_401_even_when_the_address_is_limited(
    api: Api, shop: Shop, per_address_limit: None
) -> None:
    address = "198.51.100.9"
    for n in range(4):
        api.order(order(f"o{n}"), shop.key.key, REMOTE_ADDR=address)
    response = api.order(order(), "or_unknown", REMOTE_ADDR=address)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_it_takes_the_client_address_from_x_forwarded_for_behind_a_trusted_proxy(
    api: Api, shop: Shop, per_address_limit: None, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(3):
        response = api.order(
            order(f"a{n}"), shop.key.key, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy
        )
        assert response.status_code == 201
    assert_limited(
        api.order(order("a3"), shop.key.key, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy)
    )
    # Other clients behind the same proxy keep their own budget...
    response = api.order(
        order("b0"), shop.key.key, HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.11", **proxy
    )
    assert response.status_code == 201
    # ...and the stored address is the client's, not the proxy's nor a spoofed one.
    assert Order.objects.get(external_id="a0").client_ip == "203.0.113.10"
    assert Order.objects.get(external_id="b0").client_ip == "203.0.113.11"


def test_it_ignores_x_forwarded_for_without_a_trusted_proxy(api: Api, shop: Shop) -> None:
    api.order(order(), shop.key.key, HTTP_X_FORWARDED_FOR="203.0.113.10", REMOTE_ADDR="10.0.0.1")
    assert Order.objects.get().client_ip == "10.0.0.1"


def test_it_counts_proxies_from_the_right(api: Api, shop: Shop, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 2
    api.order(
        order(),
        shop.key.key,
        HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.12, 10.0.0.2",
        REMOTE_ADDR="10.0.0.3",
    )
    assert Order.objects.get().client_ip == "203.0.113.12"


@pytest.mark.parametrize("forwarded", ["", "not-an-ip", "203.0.113.1:5555", "unknown, ,"])
def test_it_falls_back_to_the_socket_address_for_a_bad_forwarded_header(
    api: Api, shop: Shop, settings: Any, forwarded: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    response = api.order(
        order(), shop.key.key, HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.4"
    )
    assert response.status_code == 201
    assert Order.objects.get().client_ip == "10.0.0.4"


def test_it_can_be_switched_off(api: Api, shop: Shop, settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = False
    settings.RATE_LIMIT_KEY_PER_SECOND = SLOW
    settings.RATE_LIMIT_KEY_BURST = 1
    for n in range(3):
        assert api.order(order(f"o{n}"), shop.key.key).status_code == 201
