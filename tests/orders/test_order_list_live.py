"""The order list in a real browser: a new order appears without a reload (htmx polling)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import make_shop
from tests.orders.conftest import MakeOrder

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed rows; serialized rollback brings back the seeded plans.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def tab(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A page in Debian's Chromium (own fixture name: pytest-playwright owns `page`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's guard against async contexts does not apply.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(20_000)
        yield context.new_page()
        browser.close()


def log_in(tab: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    tab.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_it_shows_a_new_order_on_the_open_list(
    tab: Any, live_server: Any, make_order: MakeOrder
) -> None:
    shop = make_shop()
    make_order(shop.project, timezone.now() - dt.timedelta(minutes=1), external_id="FIRST")
    log_in(tab, live_server, shop.user)
    tab.goto(f"/projects/{shop.project.pk}/orders/")
    tab.get_by_role("link", name="FIRST").wait_for()
    tab.evaluate("window.__marker = 'same page'")  # a reload would wipe this

    make_order(shop.project, timezone.now(), external_id="<b>SECOND</b>")

    tab.get_by_role("link", name="<b>SECOND</b>").wait_for()
    rows = tab.locator("#order-rows tr:not(.poller) td:first-child").all_inner_texts()
    assert rows == ["<b>SECOND</b>", "FIRST"]
    assert tab.evaluate("window.__marker") == "same page"

    make_order(shop.project, timezone.now(), external_id="THIRD")
    tab.get_by_role("link", name="THIRD").wait_for()
    rows = tab.locator("#order-rows tr:not(.poller) td:first-child").all_inner_texts()
    assert rows == ["THIRD", "<b>SECOND</b>", "FIRST"]  # each order once, newest on top


def test_it_replaces_the_empty_state_when_the_first_order_arrives(
    tab: Any, live_server: Any, make_order: MakeOrder
) -> None:
    shop = make_shop()
    log_in(tab, live_server, shop.user)
    tab.goto(f"/projects/{shop.project.pk}/orders/")
    tab.get_by_text("No orders yet").wait_for()

    make_order(shop.project, timezone.now(), external_id="FIRST")

    tab.get_by_role("link", name="FIRST").wait_for()
