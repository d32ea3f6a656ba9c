"""The plan page with held orders at 375 px, in English and Russian: readable without
sideways scrolling, with the held orders and the way to a larger plan on it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.ingest.record import record_in_transaction
from tests.browser.session import log_in
from tests.conftest import make_shop
from tests.ingest.helpers import limit_to, order_item

PHONE = {"width": 375, "height": 812}


@pytest.mark.parametrize("language", ["en", "ru"])
@override_settings(UPGRADE_URL="https://billing.example.com/upgrade")
def test_the_plan_page_with_held_orders_fits_a_phone(
    page: Page, live_server: LiveServer, language: str
) -> None:
    shop = make_shop()
    shop.project.timezone = "Europe/Moscow"
    shop.project.save()
    limit_to(shop, 1)
    ids = ["paid", "order-with-a-rather-long-id-10483", "10484"]
    record_in_transaction([order_item(shop, i, total=1890000) for i in ids])
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    shop.user.language = language
    shop.user.save()
    log_in(page, live_server, shop.user)
    response = page.goto(f"{live_server.url}/a/{shop.account.pk}/plan/")
    assert response is not None and response.status == 200
    held = page.locator("table.held")
    expect(held).to_be_visible()
    expect(held.locator("code")).to_have_text(ids[1:])
    expect(page.locator("#held")).to_contain_text("Europe/Moscow")
    expect(
        page.locator('a.button[href="https://billing.example.com/upgrade"]').first
    ).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Plan names wrap between words, never inside one ("Без ограничений" was cut to
    # "ограничени" + "й"): each word of each card's heading sits on one line.
    broken = page.evaluate(
        """() => [...document.querySelectorAll('.plans h3')].flatMap(h => {
            const text = h.firstChild, words = [], range = document.createRange();
            for (const m of text.data.matchAll(/\\S+/g)) {
                range.setStart(text, m.index);
                range.setEnd(text, m.index + m[0].length);
                const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) words.push(m[0]);
            }
            return words;
        })"""
    )
    assert broken == []
