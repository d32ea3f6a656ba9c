"""The order page's product pictures, fetched by the server: /projects/<id>/orders/<order_pk>/
products/<index>/image (orderreport/notify/images.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import Client
from django.utils import timezone

from orderreport.notify.images import CACHED_MAX_BYTES, placeholder
from orderreport.orders.models import Order
from orderreport.projects.models import Project
from tests.conftest import Team
from tests.notify.pictures import HangingHost, PictureHost, fresh_picture_cache, png, serving


@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    fresh_picture_cache(settings)


@pytest.fixture
def picture_host(settings: Any) -> Iterator[PictureHost]:
    yield from serving(PictureHost(), settings)


@pytest.fixture
def hanging_host(settings: Any) -> Iterator[HangingHost]:
    yield from serving(HangingHost(), settings)


PNG = png()


def url(order: Order, index: int = 0) -> str:
    return f"/projects/{order.project_id}/orders/{order.pk}/products/{index}/image"


def order_of(team: Team, products: list[Any]) -> Order:
    return Order.objects.create(
        project=team.shop.project,
        external_id=f"order-{Order.objects.count() + 1}",
        total=100,
        currency="RUB",
        received_at=timezone.now(),
        products=products,
    )


def with_pictures(team: Team, *images: str) -> Order:
    products = [
        {"name": f"P{i}", "price": 100, "count": 1, "image": u} for i, u in enumerate(images)
    ]
    return order_of(team, products)


def assert_placeholder(response: Any) -> None:
    assert response.status_code == 404
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content == placeholder()
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_serves_the_shops_picture_from_the_app(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    order = with_pictures(team, picture_host.put("/shoe.png", PNG))
    client.force_login(team.viewer)

    r = client.get(url(order))

    assert r.status_code == 200
    assert r.content == PNG
    assert r["Content-Type"] == "image/png"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"] == "default-src 'none'"
    assert r["Cache-Control"].startswith("private, max-age=")
    [request] = picture_host.requests
    assert request.path == "/shoe.png"
    assert "image/png" in request.headers["accept"]
    assert "cookie" not in request.headers  # nothing of the owner's goes to the shop's host


def test_it_serves_a_picture_by_what_its_bytes_are(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    # A PNG labelled JPEG (common) is shown, as the PNG it is.
    order = with_pictures(team, picture_host.put("/a.jpg", PNG, "image/jpeg"))
    client.force_login(team.owner)
    r = client.get(url(order))
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png"


def test_it_fetches_a_picture_once_for_many_views_and_orders(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    picture = picture_host.put("/shoe.png", PNG)
    first = with_pictures(team, picture)
    second = with_pictures(team, picture)
    client.force_login(team.owner)

    assert client.get(url(first)).content == PNG
    assert client.get(url(first)).content == PNG
    assert client.get(url(second)).content == PNG

    assert len(picture_host.requests) == 1


def test_it_refuses_private_addresses_by_default(client: Client, team: Team, settings: Any) -> None:
    # The operator allows no private network here (the default): the guard refuses loopback.
    host = PictureHost()
    try:
        order = with_pictures(team, host.put("/shoe.png", PNG))
        client.force_login(team.owner)
        assert_placeholder(client.get(url(order)))
        assert host.requests == []
    finally:
        host.close()


SVG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><rect/></svg>"
HTML = b"<!doctype html><script>alert(1)</script>"


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("image/svg+xml", SVG, 200),
        ("text/html", HTML, 200),
        ("image/png", HTML, 200),  # says PNG, is HTML
        ("image/png", SVG, 200),
        ("application/octet-stream", PNG, 200),  # the bytes of a PNG, not said to be one
        ("text/plain", b"hello", 200),
        ("image/png", PNG, 500),
    ],
)
def test_it_shows_a_placeholder_for_anything_but_a_picture(
    client: Client,
    team: Team,
    picture_host: PictureHost,
    content_type: str,
    body: bytes,
    status: int,
) -> None:
    order = with_pictures(team, picture_host.put("/x", body, content_type, status))
    client.force_login(team.owner)
    r = client.get(url(order))
    assert_placeholder(r)
    assert body not in r.content


def test_it_stops_reading_a_picture_past_the_size_limit(
    client: Client, team: Team, picture_host: PictureHost, settings: Any
) -> None:
    settings.PRODUCT_IMAGE_MAX_BYTES = 4096
    big = png(200, 200, (1, 2, 3)) + bytes(8192)
    small = png(8, 8)
    order = with_pictures(
        team, picture_host.put("/big.png", big), picture_host.put("/small.png", small)
    )
    client.force_login(team.owner)
    assert_placeholder(client.get(url(order, 0)))
    assert client.get(url(order, 1)).content == small


def test_it_gives_up_on_a_host_that_never_answers(
    client: Client, team: Team, hanging_host: HangingHost, settings: Any
) -> None:
    settings.PRODUCT_IMAGE_TIMEOUT_SECONDS = 0.6
    order = with_pictures(team, hanging_host.url + "/a.png", hanging_host.url + "/b.png")
    client.force_login(team.owner)

    assert_placeholder(client.get(url(order, 0)))
    # The host's failure is remembered: the next picture there does not wait again.
    assert_placeholder(client.get(url(order, 1)))
    assert len(hanging_host.connections) == 1


def test_it_remembers_a_failure_for_a_while(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    picture = picture_host.put("/shoe.png", PNG, status=503)
    order = with_pictures(team, picture)
    client.force_login(team.owner)
    assert_placeholder(client.get(url(order)))
    picture_host.put("/shoe.png", PNG)  # back, but the failure is still remembered
    assert_placeholder(client.get(url(order)))
    assert len(picture_host.requests) == 1


def test_it_is_404_for_another_tenant(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    order = with_pictures(team, picture_host.put("/shoe.png", PNG))
    client.force_login(team.outsider)
    r = client.get(url(order))
    assert r.status_code == 404
    assert r["Content-Type"].startswith("text/html")  # Django's page, not the placeholder
    # Nor through the outsider's own project with this order's id.
    outsider_project = Project.objects.get(account__memberships__user=team.outsider)
    r = client.get(f"/projects/{outsider_project.pk}/orders/{order.pk}/products/0/image")
    assert r.status_code == 404
    assert picture_host.requests == []


def test_it_asks_a_visitor_to_log_in(client: Client, team: Team, picture_host: PictureHost) -> None:
    order = with_pictures(team, picture_host.put("/shoe.png", PNG))
    r = client.get(url(order))
    assert r.status_code == 302
    assert "/login/" in r["Location"]
    assert picture_host.requests == []


def test_it_is_404_for_a_product_out_of_range_or_without_a_picture(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    order = order_of(
        team,
        [
            {"name": "With", "price": 1, "count": 1, "image": picture_host.put("/a.png", PNG)},
            {"name": "Without", "price": 1, "count": 1},
            "not a product",
        ],
    )
    client.force_login(team.owner)
    assert client.get(url(order, 0)).status_code == 200
    for index in (1, 2, 3, 99):
        r = client.get(url(order, index))
        assert r.status_code == 404
        assert r["Content-Type"].startswith("text/html")
    assert len(picture_host.requests) == 1


def test_it_fetches_nothing_when_pictures_are_off(
    client: Client, team: Team, picture_host: PictureHost, settings: Any
) -> None:
    settings.PRODUCT_IMAGES = "off"
    order = with_pictures(team, picture_host.put("/shoe.png", PNG))
    client.force_login(team.owner)
    assert client.get(url(order)).status_code == 404
    assert picture_host.requests == []


def test_a_check_refuses_an_unknown_pictures_setting(settings: Any) -> None:
    settings.PRODUCT_IMAGES = "on"
    assert "notify.E010" in [m.id for m in run_checks()]
    settings.PRODUCT_IMAGES = "off"
    assert "notify.E010" not in [m.id for m in run_checks()]


def test_it_keeps_no_large_picture_on_the_server(
    client: Client, team: Team, picture_host: PictureHost
) -> None:
    # Still shown, fetched again each time (the browser keeps it, not the server's cache).
    large = png(8, 8) + bytes(CACHED_MAX_BYTES)
    order = with_pictures(team, picture_host.put("/large.png", large))
    client.force_login(team.owner)
    assert client.get(url(order)).content == large
    assert client.get(url(order)).content == large
    assert len(picture_host.requests) == 2
