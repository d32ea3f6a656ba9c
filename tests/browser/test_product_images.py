"""The order page in Chromium shows product pictures through the app and asks the shop's
picture host for nothing; a picture that cannot be had is a neutral tile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Request, expect
from pytest_django.live_server_helper import LiveServer

from orderreport.orders.models import Order
from tests.browser.session import log_in
from tests.conftest import make_shop
from tests.notify.pictures import PictureHost, fresh_picture_cache, png, serving


@pytest.fixture
def picture_host(settings: Any) -> Iterator[PictureHost]:
    fresh_picture_cache(settings)
    yield from serving(PictureHost(), settings)


@pytest.mark.parametrize(
    ("width", "height", "language"),
    [(1280, 800, "en"), (375, 812, "ru")],
    ids=["desktop-en", "phone-ru"],
)
def test_the_order_page_shows_pictures_without_asking_the_shops_host(
    page: Page,
    live_server: LiveServer,
    picture_host: PictureHost,
    width: int,
    height: int,
    language: str,
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    shop = make_shop()
    shop.user.language = language
    shop.user.save()
    order = Order.objects.create(
        project=shop.project,
        external_id="10482",
        total=3000,
        currency="RUB",
        received_at=timezone.now(),
        products=[
            {"name": "Shoe", "price": 1000, "count": 1, "image": picture_host.put("/s.png", png())},
            {"name": "Hat", "price": 2000, "count": 1, "image": picture_host.url + "/gone.png"},
        ],
    )
    log_in(page, live_server, shop.user)
    asked: list[str] = []

    def note(request: Request) -> None:
        asked.append(request.url)

    page.on("request", note)

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/orders/{order.pk}/")

    shoe, hat = page.get_by_role("img", name="Shoe"), page.get_by_role("img", name="Hat")
    expect(shoe).to_be_visible()
    expect(hat).to_be_visible()
    page.wait_for_load_state("networkidle")
    drawn = "img => img.complete && img.naturalWidth > 0"
    assert shoe.evaluate(drawn) and hat.evaluate(
        drawn
    )  # the picture, and a tile, not a broken image
    # The shop's green picture, drawn from our server's copy; the missing one is the grey tile.
    assert shoe.evaluate(
        """img => { const c = document.createElement('canvas'); c.width = c.height = 1;
                    const x = c.getContext('2d'); x.drawImage(img, 0, 0, 1, 1);
                    return Array.from(x.getImageData(0, 0, 1, 1).data.slice(0, 3)); }"""
    ) == [46, 125, 50]
    assert [u for u in asked if u.startswith(picture_host.url)] == []
    assert all(u.startswith(live_server.url) for u in asked), asked
    # Our server fetched each picture once.
    assert sorted(r.path for r in picture_host.requests) == ["/gone.png", "/s.png"]


@pytest.mark.parametrize(
    ("width", "height", "language", "link"),
    [(1280, 800, "en", "picture"), (375, 812, "ru", "изображение")],
    ids=["desktop-en", "phone-ru"],
)
def test_with_pictures_off_the_order_page_links_to_them(
    page: Page,
    live_server: LiveServer,
    picture_host: PictureHost,
    settings: Any,
    width: int,
    height: int,
    language: str,
    link: str,
) -> None:
    settings.PRODUCT_IMAGES = "off"
    page.set_viewport_size({"width": width, "height": height})
    shop = make_shop()
    shop.user.language = language
    shop.user.save()
    picture = picture_host.put("/s.png", png())
    order = Order.objects.create(
        project=shop.project,
        external_id="10483",
        total=1000,
        currency="RUB",
        received_at=timezone.now(),
        products=[{"name": "Shoe", "price": 1000, "count": 1, "image": picture}],
    )
    log_in(page, live_server, shop.user)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    page.goto(f"{live_server.url}/projects/{shop.project.pk}/orders/{order.pk}/")

    expect(page.get_by_role("link", name=link)).to_have_attribute("href", picture)
    expect(page.get_by_role("img", name="Shoe")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    assert all(u.startswith(live_server.url) for u in asked), asked
    assert picture_host.requests == []
