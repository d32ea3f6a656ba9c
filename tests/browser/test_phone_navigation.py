"""On a phone the navigation leaves room for the orders: a compact header whose links fold
into a menu (a <details>, no script) and project tabs that scroll sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.orders.models import Order
from tests.conftest import Shop, make_shop

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def shop_with_orders() -> Shop:
    shop = make_shop()
    now = timezone.now()
    for i in range(3):
        Order.objects.create(
            project=shop.project,
            external_id=f"1048{i}",
            total=189000,
            currency="RUB",
            username="Anna Smirnova",
            email="anna@example.com",
            received_at=now - dt.timedelta(minutes=i),
        )
    return shop


def open_page(
    browser: Browser,
    live_server: LiveServer,
    shop: Shop,
    viewport: dict[str, int],
    language: str,
    **options: object,
) -> Page:
    shop.user.language = language
    shop.user.save()
    client = Client()
    client.force_login(shop.user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/projects/{shop.project.pk}/orders/")
    return page


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_first_order_is_on_the_first_screen_of_a_phone(
    browser: Browser, live_server: LiveServer, language: str
) -> None:
    shop = shop_with_orders()
    page = open_page(browser, live_server, shop, PHONE, language, is_mobile=True, has_touch=True)
    try:
        first = page.locator("#order-rows tr:not(.poller)").first
        expect(first).to_be_visible()
        box = first.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
        # Nothing is wider than the screen; the tabs scroll inside their own strip.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tabs = page.locator(".subnav ul")
        assert tabs.evaluate("el => getComputedStyle(el).overflowX") == "auto"
        assert tabs.evaluate("el => el.scrollWidth > el.clientWidth")
        # One row of tabs, not several.
        assert tabs.evaluate("el => el.clientHeight") < 50
        # The links are in the menu, which opens without any script.
        projects = page.get_by_role("link", name="Projects" if language == "en" else "Проекты")
        expect(projects).to_be_hidden()
        page.locator(".phone-nav > summary").click()
        expect(projects).to_be_visible()
        expect(page.get_by_role("button", name="English")).to_be_visible()
        expect(page.get_by_role("button", name="Русский")).to_be_visible()
    finally:
        page.context.close()


def test_the_desktop_header_is_unchanged(browser: Browser, live_server: LiveServer) -> None:
    shop = shop_with_orders()
    page = open_page(browser, live_server, shop, DESKTOP, "en")
    try:
        expect(page.locator(".phone-nav")).to_be_hidden()
        expect(page.get_by_role("link", name="Projects")).to_be_visible()
        expect(page.get_by_role("button", name="Русский")).to_be_visible()
        tabs = page.locator(".subnav ul")
        # Every tab fits: nothing to scroll.
        assert tabs.evaluate("el => el.scrollWidth <= el.clientWidth")
        expect(page.get_by_role("link", name="Settings")).to_be_visible()
    finally:
        page.context.close()


@pytest.mark.parametrize("section", ["domains", "settings"])
def test_the_current_tab_is_in_sight_on_a_phone(
    browser: Browser, live_server: LiveServer, section: str
) -> None:
    # A tab past the screen's edge (Domains, Settings) used to stay out of sight: the page
    # did not say which tab it was.
    shop = shop_with_orders()
    page = open_page(browser, live_server, shop, PHONE, "ru", is_mobile=True, has_touch=True)
    try:
        page.goto(f"{live_server.url}/projects/{shop.project.pk}/{section}/")
        current = page.locator(".subnav a[aria-current='page']")
        expect(current).to_have_count(1)
        strip = page.locator(".subnav ul")
        page.wait_for_function("() => document.querySelector('.subnav ul').scrollLeft > 0")
        inside = strip.evaluate(
            """(strip) => {
                const s = strip.getBoundingClientRect();
                const c = strip.querySelector("a[aria-current='page']").getBoundingClientRect();
                return c.left >= s.left - 1 && c.right <= s.right + 1;  // subpixels
            }"""
        )
        assert inside
    finally:
        page.context.close()


def test_the_first_tab_needs_no_scrolling(browser: Browser, live_server: LiveServer) -> None:
    shop = shop_with_orders()
    page = open_page(browser, live_server, shop, PHONE, "en", is_mobile=True, has_touch=True)
    try:
        page.goto(f"{live_server.url}/projects/{shop.project.pk}/")
        expect(page.locator(".subnav a[aria-current='page']")).to_be_visible()
        assert page.locator(".subnav ul").evaluate("el => el.scrollLeft") == 0
    finally:
        page.context.close()
