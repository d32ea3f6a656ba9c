"""The integration page's Server API section in Chromium: an owner creates a server key in
place and sees it once, at desktop and phone widths, in English and Russian, without the page
growing sideways. Screenshots go to $SCREENSHOT_DIR when it is set (for a look by eye)."""

from __future__ import annotations

import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, hash_server_key
from tests.browser.session import log_in, no_sideways_scroll
from tests.conftest import make_shop

TEXT = {
    "en": ("Server API", "Create a server key", "it will not be shown again"),
    "ru": ("Серверный API", "Create a server key", "больше он показан не будет"),
}


def _shot(section: Locator, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        section.screenshot(path=f"{folder}/{name}.png")
        box = section.bounding_box()
        assert box is not None
        top = box["y"] + section.page.evaluate("window.scrollY")
        clip = {**box, "y": top, "height": min(box["height"], 1000)}
        section.page.screenshot(path=f"{folder}/{name}-top.png", clip=clip, full_page=True)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("width", [1280, 375])
def test_an_owner_creates_a_server_key_from_the_integration_page(
    page: Page, live_server: LiveServer, language: str, width: int
) -> None:
    shop = make_shop()
    shop.user.language = language
    shop.user.save()
    Order.objects.create(
        project=shop.project,
        external_id="10482",
        total=189000,
        currency="RUB",
        received_at=timezone.now(),
    )
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, shop.user)
    title, _button, once = TEXT[language]

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/integration/#server-api")
    section = page.locator("#server-api")
    expect(section.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(section.locator("pre code").first).to_contain_text("sk_YOUR_SERVER_KEY")
    no_sideways_scroll(page)
    _shot(section, f"server-api-{language}-{width}")

    section.locator("input[name='server-name']").fill("CRM")
    section.locator("button[type='submit']").click()

    alert = section.get_by_role("alert")
    expect(alert).to_contain_text(once)
    raw = page.locator("#server-key-value").inner_text()
    assert re.fullmatch(r"sk_[A-Za-z0-9_-]{40,}", raw)
    assert ApiKey.objects.get(project=shop.project, kind=ApiKey.Kind.SERVER).key == (
        hash_server_key(raw)
    )
    expect(section.locator("pre code").first).to_contain_text(raw)
    expect(section.locator("pre code").first).to_contain_text('"id": "10482"')
    no_sideways_scroll(page)
    _shot(section, f"server-api-created-{language}-{width}")
