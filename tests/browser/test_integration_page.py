"""The integration page in Chromium (issue 13 item 5): the test order first, the ways of
sending as tabs that also work without JavaScript, and a fresh example order id per Copy, so
the same cURL pasted twice records two orders instead of answering 409."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.orders.models import Order
from tests.browser.session import log_in
from tests.conftest import Shop, make_shop

# (tab, the id of its panel, a text only that panel shows)
WAYS = {
    "en": [
        ("cURL", "way-curl", "curl -X POST"),
        ("Browser (fetch)", "way-fetch", "await fetch("),
        ("JS helper", "way-helper", "async function sendToOrderReport"),
        ("PHP", "way-php", "function orderreport_send"),
        ("Form without code", "form-without-code", 'name="_gotcha"'),
        ("Server API", "server-api", "sk_YOUR_SERVER_KEY"),
    ],
    "ru": [
        ("cURL", "way-curl", "curl -X POST"),
        ("Браузер (fetch)", "way-fetch", "await fetch("),
        ("JS-помощник", "way-helper", "async function sendToOrderReport"),
        ("PHP", "way-php", "function orderreport_send"),
        ("Форма без кода", "form-without-code", 'name="_gotcha"'),
        ("Серверный API", "server-api", "sk_YOUR_SERVER_KEY"),
    ],
}
TEST_BUTTON = {"en": "Send a test order", "ru": "Отправить тестовый заказ"}
# Measured in Chromium at 1280 px before the tabs: 8,558 px (test button at 4,767 px).
HEIGHT_BEFORE = 8558


@pytest.fixture
def live_shop(live_server: LiveServer, settings: Any) -> Shop:
    # The examples are filled in with BASE_URL: here, the live server, so that they run.
    settings.BASE_URL = live_server.url
    return make_shop()


def _url(live_server: LiveServer, shop: Shop) -> str:
    return f"{live_server.url}/projects/{shop.project.pk}/integration/"


def _in_first_screen(page: Page, selector: str) -> bool:
    return page.evaluate(
        "(s) => document.querySelector(s).getBoundingClientRect().bottom <= innerHeight", selector
    )


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (375, 812)])
def test_it_shows_the_test_button_in_the_first_screen_of_a_short_page(
    page: Page, live_server: LiveServer, live_shop: Shop, language: str, width: int, height: int
) -> None:
    live_shop.user.language = language
    live_shop.user.save()
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, live_shop.user)
    page.goto(_url(live_server, live_shop))

    button = page.get_by_role("button", name=TEST_BUTTON[language], exact=True)
    expect(button).to_be_visible()
    assert _in_first_screen(page, "#test-order button")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 1280:
        assert page.evaluate("document.documentElement.scrollHeight") < HEIGHT_BEFORE / 2.5
    # The button still works from its new place.
    button.click()
    expect(page.locator("#test-result")).to_contain_text("HTTP 201")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_it_switches_the_ways_of_sending_as_tabs(
    page: Page, live_server: LiveServer, live_shop: Shop, language: str
) -> None:
    live_shop.user.language = language
    live_shop.user.save()
    log_in(page, live_server, live_shop.user)
    page.goto(_url(live_server, live_shop))
    tabs = page.get_by_role("tablist")
    ways = WAYS[language]

    # One panel at a time; the first is cURL.
    expect(tabs.get_by_role("tab")).to_have_count(len(ways))
    expect(tabs.get_by_role("tab", name="cURL")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#way-curl")).to_be_visible()
    for _name, panel, _text in ways[1:]:
        expect(page.locator(f"#{panel}")).to_be_hidden()

    for name, panel, text in ways:
        tabs.get_by_role("tab", name=name, exact=True).click()
        expect(page.get_by_role("tabpanel")).to_have_count(1)
        expect(page.get_by_role("tabpanel")).to_have_id(panel)
        expect(page.get_by_role("tabpanel")).to_contain_text(text)
        assert page.evaluate("location.hash") == f"#{panel}"

    # The choice survives a reload (and so a shared link).
    tabs.get_by_role("tab", name="PHP").click()
    page.reload()
    expect(page.get_by_role("tab", name="PHP")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#way-php")).to_be_visible()
    expect(page.locator("#way-curl")).to_be_hidden()

    # Keyboard: the arrows move between tabs, wrapping around; Home and End go to the ends.
    page.get_by_role("tab", name="PHP").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name=ways[4][0])).to_be_focused()
    expect(page.locator("#form-without-code")).to_be_visible()
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="cURL")).to_be_focused()
    expect(page.locator("#way-curl")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#server-api")).to_be_visible()
    # Only the chosen tab is in the Tab order.
    assert page.locator("[role=tab][tabindex='0']").count() == 1


def test_it_opens_the_panel_a_link_points_into(
    page: Page, live_server: LiveServer, live_shop: Shop
) -> None:
    # Creating a server key answers the page at #server-api: that tab must be the open one.
    log_in(page, live_server, live_shop.user)
    page.goto(_url(live_server, live_shop) + "#server-api")
    expect(page.get_by_role("tab", name="Server API")).to_have_attribute("aria-selected", "true")
    page.locator("#server-api input[name='server-name']").fill("CRM")
    page.locator("#server-api button[type='submit']").click()
    expect(page.locator("#server-key-value")).to_be_visible()
    expect(page.get_by_role("tab", name="Server API")).to_have_attribute("aria-selected", "true")


def test_it_shows_every_way_without_javascript(
    browser: Browser, live_server: LiveServer, live_shop: Shop
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    try:
        page = context.new_page()
        log_in(page, live_server, live_shop.user)
        page.goto(_url(live_server, live_shop))
        nav = page.locator("[data-tabs]")
        first = page.locator("#way-curl pre code").first.inner_text()
        for name, panel, text in WAYS["en"]:
            # Plain links to panels that are all there, one after another.
            nav.get_by_role("link", name=name, exact=True).click()
            assert page.evaluate("location.hash") == f"#{panel}"
            expect(page.locator(f"#{panel}")).to_be_in_viewport()
            expect(page.locator(f"#{panel}")).to_contain_text(text)
        expect(page.locator("[role=tab]")).to_have_count(0)

        # With no script to renew it, the example id is new at each page load.
        page.reload()
        again = page.locator("#way-curl pre code").first.inner_text()
        first_id, again_id = (re.search(r'"id": "(order-\d+)"', s) for s in (first, again))
        assert first_id and again_id
        assert first_id[1] != again_id[1]
    finally:
        context.close()


def _copy(page: Page, snippet: str) -> str:
    page.locator(snippet).first.get_by_role("button", name="Copy").click()
    return page.evaluate("navigator.clipboard.readText()")


def test_it_gives_each_copy_of_the_curl_a_new_order_id_that_records_an_order(
    page: Page, live_server: LiveServer, live_shop: Shop
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server, live_shop.user)
    page.goto(_url(live_server, live_shop))
    curl = "#way-curl .snippet[data-order-id]"

    first = _copy(page, curl)
    second = _copy(page, curl)

    ids = [re.findall(r'"id": "(order-\d+)"', command) for command in (first, second)]
    assert len(ids[0]) == len(ids[1]) == 1
    assert ids[0] != ids[1]
    # What the page shows is what was copied last.
    expect(page.locator(f"{curl} pre code")).to_have_text(second)
    # Apart from the id, the same command.
    assert first.replace(ids[0][0], ids[1][0]) == second

    for command in (first, second):
        result = subprocess.run(
            ["bash", "-c", command + " --silent --output /dev/null --write-out '%{http_code}'"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.stdout == "201", result.stdout + result.stderr
    recorded = Order.objects.filter(project=live_shop.project).values_list("external_id", flat=True)
    assert sorted(recorded) == sorted([ids[0][0], ids[1][0]])


def test_it_renews_the_id_in_every_order_example_but_not_in_the_server_apis(
    page: Page, live_server: LiveServer, live_shop: Shop
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server, live_shop.user)
    page.goto(_url(live_server, live_shop))
    rendered = page.locator("#way-curl .snippet[data-order-id]").get_attribute("data-order-id")
    for tab, panel in [
        ("Browser (fetch)", "way-fetch"),
        ("JS helper", "way-helper"),
        ("PHP", "way-php"),
    ]:
        page.get_by_role("tab", name=tab).click()
        copied = _copy(page, f"#{panel} .snippet[data-order-id]")
        assert rendered and rendered not in copied
        assert re.search(r"'order-\d+'", copied), copied
    # The Server API's examples name an order that exists: their id stays.
    page.get_by_role("tab", name="Server API").click()
    copied = _copy(page, "#server-api .snippet")
    assert '"id": "order-100234"' in copied
