"""The guide's "Universal JS helper", verbatim, on a shop's page served from another origin.

The page is served by a second local server (127.0.0.1:<port>) while the API is the live
server (localhost:<port>): different hosts and ports, so Chromium makes real cross-origin
requests with a CORS preflight, and the Origin it sends is the shop's. guide_helper.js is the
guide's text byte for byte; only the base URL, the API key and the example's event key are
swapped, as a shop would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from orderreport.events.models import EventRecord
from orderreport.orders.models import Order
from tests.browser.conftest import ShopSite
from tests.conftest import Shop, make_shop

GUIDE_HELPER = (Path(__file__).parent / "guide_helper.js").read_text(encoding="utf-8")
GUIDE_BASE = "const OR_API_BASE = 'https://devserver.tw1.ru';"
GUIDE_KEY = "const OR_API_KEY = 'YOUR_API_KEY';"
GUIDE_EVENT_KEY = "event: 'cfsdfsfds',"


def helper_script(base_url: str, key: str) -> str:
    """The guide's helper with a shop's own base URL and key, like a shop pastes it."""
    assert GUIDE_HELPER.count(GUIDE_BASE) == 1 and GUIDE_HELPER.count(GUIDE_KEY) == 1
    return GUIDE_HELPER.replace(GUIDE_BASE, f"const OR_API_BASE = '{base_url}';").replace(
        GUIDE_KEY, f"const OR_API_KEY = '{key}';"
    )


def guide_example_calls(event_key: str) -> tuple[str, str]:
    """The helper's commented example, uncommented: the `sendOrder(...)` and `sendEvent(...)`
    calls as JavaScript expressions."""
    lines = GUIDE_HELPER[GUIDE_HELPER.index("// Example:") :].splitlines()[1:]
    example = "\n".join(line.removeprefix("//").removeprefix(" ") for line in lines)
    assert example.count(GUIDE_EVENT_KEY) == 1
    example = example.replace(GUIDE_EVENT_KEY, f"event: '{event_key}',")
    order, event = example.split("await sendEvent(")
    order_call = order.strip().removeprefix("await ").removesuffix(";")
    event_call = ("sendEvent(" + event).strip().removesuffix(";")
    assert order_call.startswith("sendOrder({") and event_call.startswith("sendEvent({")
    return order_call, event_call


def open_shop_page(page: Page, site: ShopSite, base_url: str, key: str) -> None:
    html = (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>Shop</title>\n"
        "<link rel='icon' href='data:,'>\n"  # no favicon request, no 404 in the console
        f"<script>\n{helper_script(base_url, key)}\n</script>\n"
        "</head><body><h1>Checkout</h1></body></html>\n"
    )
    page.goto(site.serve("/checkout", html))


def run(page: Page, call: str) -> dict[str, Any]:
    """Run a helper call in the page: {"body": resolved value} or {"error": thrown message}."""
    return page.evaluate(
        f"() => ({call}).then(body => ({{body}}), error => ({{error: error.message}}))"
    )


@pytest.fixture
def site_shop(transactional_db: None, shop_site: ShopSite) -> Shop:
    """A shop whose project allows the second origin's host."""
    return make_shop(domain=shop_site.host)


def test_it_runs_the_guides_helper_from_another_origin(
    page: Page,
    live_server: LiveServer,
    shop_site: ShopSite,
    site_shop: Shop,
    api_requests: list[tuple[str, str]],
) -> None:
    assert urlsplit(live_server.url).netloc != urlsplit(shop_site.origin).netloc
    open_shop_page(page, shop_site, live_server.url, site_shop.key.key)
    order_call, event_call = guide_example_calls(site_shop.event.key)

    assert run(page, order_call) == {"body": {"message": "Order tracked", "id": "order-1"}}
    event_result = run(page, event_call)

    record = EventRecord.objects.get(project=site_shop.project)
    assert event_result == {"body": {"message": "Event tracked", "id": str(record.pk)}}
    assert record.event == site_shop.event
    assert record.origin == shop_site.origin
    assert record.data == [
        {"name": "Имя", "value": "Ruslan Garapov"},
        {"name": "Телефон", "value": "+998888214888"},
    ]
    order = Order.objects.get(project=site_shop.project)
    assert order.external_id == "order-1"
    assert order.total == 50000
    assert order.currency == "RUB"
    assert order.origin == shop_site.origin
    assert order.data[0] == {"name": "Имя", "value": "User One"}
    assert [p["name"] for p in order.products] == ["T-Shirt Basic", "Cap Black"]
    assert "HeadlessChrome" in order.user_agent
    # The browser really asked first: a preflight for each endpoint, then the POST.
    assert ("OPTIONS", "/api/orders/track") in api_requests
    assert ("OPTIONS", "/api/events/track") in api_requests
    assert api_requests.count(("POST", "/api/orders/track")) == 1


def test_it_surfaces_the_servers_message_for_a_duplicate_order(
    page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    open_shop_page(page, shop_site, live_server.url, site_shop.key.key)
    order_call, _event_call = guide_example_calls(site_shop.event.key)

    assert "body" in run(page, order_call)
    assert run(page, order_call) == {
        "error": "OrderReport API error: 409 Order with this id already exists"
    }
    assert Order.objects.filter(project=site_shop.project).count() == 1


def test_it_surfaces_the_servers_message_for_a_wrong_key(
    page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    open_shop_page(page, shop_site, live_server.url, "or_not-a-key-of-this-server")
    order_call, event_call = guide_example_calls(site_shop.event.key)

    assert run(page, order_call) == {"error": "OrderReport API error: 401 Invalid API key"}
    assert run(page, event_call) == {"error": "OrderReport API error: 401 Invalid API key"}
    assert not Order.objects.exists()
    assert not EventRecord.objects.exists()


def test_it_surfaces_domain_not_allowed_to_a_site_missing_from_the_project(
    page: Page, live_server: LiveServer, shop_site: ShopSite, transactional_db: None
) -> None:
    # The project allows the API's own host, not the shop page's: the Origin is what counts.
    shop = make_shop(domain=urlsplit(live_server.url).hostname or "")
    open_shop_page(page, shop_site, live_server.url, shop.key.key)
    order_call, _event_call = guide_example_calls(shop.event.key)

    assert run(page, order_call) == {"error": "OrderReport API error: 403 Domain not allowed"}
    assert not Order.objects.exists()


def test_it_surfaces_an_inactive_event(
    page: Page, live_server: LiveServer, shop_site: ShopSite, site_shop: Shop
) -> None:
    site_shop.event.is_active = False
    site_shop.event.save()
    open_shop_page(page, shop_site, live_server.url, site_shop.key.key)
    _order_call, event_call = guide_example_calls(site_shop.event.key)

    assert run(page, event_call) == {"error": "OrderReport API error: 401 Event is not active"}
    assert not EventRecord.objects.exists()
