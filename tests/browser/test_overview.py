"""The overview in Chromium: the charts are drawn (under our CSP, from the page's JSON), the
table under them says what the summary says, the period picker changes both, and the page fits
a 375 px phone, in English and in Russian."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.accounts.services import get_plan
from orderreport.orders.services import change_status
from tests.browser.session import log_in
from tests.conftest import Shop, make_shop
from tests.reports.helpers import add_order, add_record

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

# Records every Content-Security-Policy violation (Playwright's init scripts are exempt from
# the page's CSP, so this runs before any of the page's own scripts).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

# Pixels drawn on a canvas, and those in the revenue bars' blue (#1d5fd1).
INK = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0, blue = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) drawn++;
    const near = (value, target) => Math.abs(value - target) < 8;
    if (near(data[i], 29) && near(data[i + 1], 95) && near(data[i + 2], 209)) blue++;
  }
  return {drawn, blue};
}"""


def seed() -> Shop:
    """Orders today, yesterday and three days ago (UTC days), a cancelled one and leads."""
    shop = make_shop()
    shop.account.plan = get_plan("unlimited")
    shop.account.save()
    now = timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = midnight + (now - midnight) / 2  # today, in the past, whatever the hour
    noon = midnight + dt.timedelta(hours=12)
    add_order(shop.project, today, 150000, "RUB", [{"name": "Apron", "price": 150000, "count": 1}])
    add_order(shop.project, noon - dt.timedelta(days=1), 200000, "RUB")
    add_order(shop.project, noon - dt.timedelta(days=3), 300000, "RUB")
    add_order(shop.project, noon - dt.timedelta(days=3), 4500, "USD")
    change_status(add_order(shop.project, noon - dt.timedelta(days=2), 99900, "RUB"), "cancelled")
    add_record(shop.event, today)
    add_record(shop.event, noon - dt.timedelta(days=1))
    return shop


def open_overview(page: Page, live_server: LiveServer, shop: Shop, query: str) -> None:
    page.add_init_script(WATCH_CSP)
    log_in(page, live_server, shop.user)
    response = page.goto(f"{live_server.url}/projects/{shop.project.pk}/{query}")
    assert response is not None
    assert response.status == 200, (response.status, response.url, response.text()[:2000])
    # The policy the page must live with (no inline script or style) is really in force.
    policy = response.headers.get("content-security-policy", "")
    directives = {part.strip() for part in policy.split(";")}
    assert {"script-src 'self'", "style-src 'self'"} <= directives, policy
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    page.wait_for_function("() => Chart.instances && Object.keys(Chart.instances).length > 0")


def assert_clean(page: Page, console: list[str]) -> None:
    assert page.evaluate("window.__cspViolations") == []
    errors = [line for line in console if line.startswith(("error", "uncaught"))]
    assert errors == []


def summary(page: Page, currency: str, n: int) -> str:
    """The n-th figure's value of a currency's cards (0 revenue, 1 orders)."""
    cards = page.locator(f'dl.cards[data-currency="{currency}"] .card .value')
    return cards.nth(n).inner_text()


def footer(page: Page, column: int) -> str:
    return page.locator("#series-table tfoot td").nth(column).inner_text()


def canvases_drawn(page: Page) -> list[dict[str, int]]:
    return [c.evaluate(INK) for c in page.locator("canvas[data-chart]").all()]


@pytest.fixture
def console(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda exc: seen.append(f"uncaught: {exc}"))
    return seen


def test_the_chart_and_the_table_show_the_summarys_figures(
    page: Page, live_server: LiveServer, console: list[str]
) -> None:
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    shop = seed()
    open_overview(page, live_server, shop, "?period=7d")

    assert summary(page, "RUB", 0) == "RUB\xa06,500.00"
    assert summary(page, "RUB", 1) == "3"
    assert summary(page, "USD", 0) == "$45.00"
    # Series table columns: revenue RUB, orders RUB, revenue USD, orders USD, leads.
    assert footer(page, 0) == summary(page, "RUB", 0)
    assert footer(page, 1) == summary(page, "RUB", 1)
    assert footer(page, 2) == summary(page, "USD", 0)
    assert footer(page, 4) == "2"
    expect(page.locator("#series-table tbody tr")).to_have_count(7)
    expect(page.locator("p.cancelled").first).to_contain_text("1 order, RUB\xa0999.00")

    charts = page.locator("canvas[data-chart]")
    expect(charts).to_have_count(3)  # RUB, USD, leads
    for ink in canvases_drawn(page)[:2]:
        assert ink["blue"] > 200, ink  # revenue bars, not only axes
    assert canvases_drawn(page)[2]["drawn"] > 1000

    page.get_by_role("link", name="Today", exact=True).click()
    expect(page.locator("#series-table tbody tr")).to_have_count(24)  # by hour
    page.wait_for_function("() => Object.keys(Chart.instances).length > 0")
    assert summary(page, "RUB", 0) == "RUB\xa01,500.00"
    assert summary(page, "RUB", 1) == "1"
    assert footer(page, 0) == "RUB\xa01,500.00"
    expect(page.get_by_role("heading", name="By hour")).to_be_visible()
    assert canvases_drawn(page)[0]["blue"] > 50

    yesterday = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    page.get_by_label("From", exact=True).fill(yesterday)
    page.get_by_label("To", exact=True).fill(yesterday)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("dl.cards[data-currency='RUB'] .card .value").first).to_have_text(
        "RUB\xa02,000.00"
    )
    assert_clean(page, console)


def test_it_fits_a_phone(page: Page, live_server: LiveServer, console: list[str]) -> None:
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    shop = seed()
    open_overview(page, live_server, shop, "?period=30d")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("canvas[data-chart]").first.bounding_box()
    assert box and box["width"] <= PHONE["width"] and box["height"] > 150
    assert canvases_drawn(page)[0]["blue"] > 100
    # A wide table scrolls inside its own box, not the page.
    table = page.locator("#series-table")
    assert table.evaluate("t => t.parentElement.scrollWidth >= t.parentElement.clientWidth")
    assert footer(page, 0) == summary(page, "RUB", 0)
    assert_clean(page, console)


def test_it_speaks_russian(page: Page, live_server: LiveServer, console: list[str]) -> None:
    shop = seed()
    shop.user.language = "ru"
    shop.user.save()
    open_overview(page, live_server, shop, "?period=7d")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Продажи в RUB")).to_be_visible()
    assert summary(page, "RUB", 0) == "6\xa0500,00\xa0₽"
    assert footer(page, 0) == summary(page, "RUB", 0)
    data: dict[str, Any] = page.evaluate(
        "JSON.parse(document.getElementById('overview-data').textContent)"
    )
    assert data["currencies"][0]["title"] == "Выручка и заказы, RUB"
    assert canvases_drawn(page)[0]["blue"] > 200
    page.get_by_role("link", name="Вчера", exact=True).click()
    expect(page.locator("dl.cards[data-currency='RUB'] .card .value").first).to_have_text(
        "2\xa0000,00\xa0₽"
    )
    assert_clean(page, console)


def test_a_large_amount_breaks_at_its_currency_on_a_phone(
    page: Page, live_server: LiveServer, console: list[str]
) -> None:
    # "RUB 172,720.00" is wider than half a phone's screen: it used to break inside the
    # digits ("RUB 172,720.0" + "0"); it goes to a new line after the currency instead.
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    shop = seed()
    add_order(shop.project, timezone.now() - dt.timedelta(minutes=5), 16622000, "RUB")
    open_overview(page, live_server, shop, "?period=7d")
    revenue = page.locator('dl.cards[data-currency="RUB"] .card .value').first
    assert revenue.inner_text() == "RUB\xa0172,720.00"  # the text is unchanged
    digits_lines = revenue.evaluate(
        """v => {
            const range = document.createRange();
            range.selectNodeContents(v.lastChild);  // the amount (all of it, before the fix)
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        }"""
    )
    assert digits_lines == 1
    assert_clean(page, console)
