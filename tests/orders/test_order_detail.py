"""One order: /projects/<id>/orders/<order_pk>/."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.test import Client

from orderreport.orders.models import Order
from tests.conftest import Team, csp, make_shop
from tests.orders.conftest import MakeOrder

PRODUCTS = [
    {"name": "Sneakers X", "price": 99000, "count": 1, "image": "https://example.com/x.jpg"},
    {"name": "Socks", "price": 25050, "count": 3, "image": "https://example.com/s.jpg?a=1&b=2"},
]


def url(order: Order) -> str:
    return f"/projects/{order.project_id}/orders/{order.pk}/"


def full_order(make_order: MakeOrder, team: Team, **fields: object) -> Order:
    values: dict[str, object] = {
        "external_id": "order-100234",
        "total": 174150,
        "currency": "RUB",
        "username": "john_doe",
        "email": "john@example.com",
        "phone": "+998 (90) 111-22-33",
        "products": PRODUCTS,
        "data": [{"name": "Имя", "value": "John Doe"}, {"name": "Comment", "value": "Ring\nfirst"}],
        "origin": "https://example.com",
        "client_ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "received_at": dt.datetime(2026, 5, 1, 21, 30, tzinfo=dt.UTC),
    }
    values.update(fields)
    return make_order(team.shop.project, **values)


def test_it_shows_the_whole_order(team: Team, client: Client, make_order: MakeOrder) -> None:
    team.shop.project.timezone = "Europe/Moscow"
    team.shop.project.save()
    order = full_order(make_order, team)
    client.force_login(team.owner)

    r = client.get(url(order))

    assert r.status_code == 200
    html = r.content.decode()
    picture = f"/projects/{order.project_id}/orders/{order.pk}/products/1/image"
    assert f'<img src="{picture}" alt="Socks" loading="lazy"' in html
    assert "3 \u00d7 RUB\xa0250.50" in html  # count, price, then the line total
    assert "RUB\xa0751.50" in html
    assert "RUB\xa01,741.50" in html
    assert "<dt>Имя</dt><dd>John Doe</dd>" in html
    assert "Ring\\nfirst" in html  # a line break in a value is shown, never obeyed
    assert '<a href="mailto:john@example.com">john@example.com</a>' in html
    assert '<a href="tel:+998901112233">+998 (90) 111-22-33</a>' in html
    assert "https://example.com" in html and "203.0.113.7" in html
    assert "Mozilla/5.0 (X11; Linux x86_64)" in html
    assert 'datetime="2026-05-02T00:30:00+03:00"' in html  # the project's clock
    assert "Delete this order" in html


def test_it_formats_amounts_in_the_orders_currency_and_viewers_language(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = full_order(make_order, team, total=99000, products=PRODUCTS[:1])
    team.owner.language = "ru"  # a signed-in user's saved language decides
    team.owner.save()
    client.force_login(team.owner)
    html = client.get(url(order)).content.decode()
    assert "990,00\xa0₽" in html
    team.owner.language = "en"
    team.owner.save()
    usd = full_order(make_order, team, external_id="u", total=500000, currency="JPY")
    assert "¥500,000" in client.get(url(usd)).content.decode()


def test_it_escapes_everything_the_customer_sent(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    evil = "<script>alert(1)</script>"
    order = full_order(
        make_order,
        team,
        external_id=evil,
        username=evil,
        email='x"><script>alert(2)</script>@example.com',
        phone="<b>call me</b>",
        products=[{"name": evil, "price": 1, "count": 1, "image": 'https://e.com/"onerror="x'}],
        data=[{"name": evil, "value": evil}],
        origin=evil,
        user_agent=evil,
    )
    client.force_login(team.owner)
    html = client.get(url(order)).content.decode()
    assert "<script>alert" not in html
    assert 'onerror="' not in html
    assert "&lt;b&gt;call me&lt;/b&gt;" in html
    assert "tel:" not in html  # no digits, no link


FAKE_LINE = "\r\nFake: line"
OVERRIDE = "\u202eevil"


def test_it_shows_line_breaks_and_bidi_overrides_escaped(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = full_order(
        make_order,
        team,
        external_id="A-1" + FAKE_LINE + OVERRIDE,
        username="Ann" + FAKE_LINE + OVERRIDE,
        products=[{"name": "Hat" + FAKE_LINE + OVERRIDE, "price": 1, "count": 1}],
        data=[{"name": "Note" + OVERRIDE, "value": "ok" + FAKE_LINE + OVERRIDE}],
    )
    client.force_login(team.owner)

    html = client.get(url(order)).content.decode()

    assert "\u202e" not in html
    assert "\nFake" not in html and "<br>Fake" not in html
    for shown in ("A-1", "Ann", "Hat", "ok"):
        assert f"{shown}\\r\\nFake: line\\u202eevil" in html
    assert "Note\\u202eevil" in html
    order.refresh_from_db()  # stored as sent
    assert order.external_id == "A-1" + FAKE_LINE + OVERRIDE
    assert order.products[0]["name"] == "Hat" + FAKE_LINE + OVERRIDE
    assert order.data[0]["value"] == "ok" + FAKE_LINE + OVERRIDE


def test_it_isolates_right_to_left_text(team: Team, client: Client, make_order: MakeOrder) -> None:
    order = full_order(make_order, team, username="שלום 12")
    client.force_login(team.owner)
    html = client.get(url(order)).content.decode()
    assert "<dd><bdi>שלום 12</bdi></dd>" in html


def test_it_shows_no_image_for_a_url_that_is_not_http(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = full_order(
        make_order,
        team,
        products=[{"name": "P", "price": 1, "count": 1, "image": "javascript:alert(1)"}],
    )
    client.force_login(team.owner)
    html = client.get(url(order)).content.decode()
    assert "javascript:" not in html
    assert "<img" not in html


SRC = re.compile(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)


def test_it_loads_no_picture_from_the_shops_host(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    # The customer's browser sends the picture URLs; loaded by the owner's browser, each would
    # tell its host the owner's address and when they look.
    order = full_order(make_order, team)
    client.force_login(team.owner)

    r = client.get(url(order))

    sources = SRC.findall(r.content.decode())
    pictures = [
        f"/projects/{order.project_id}/orders/{order.pk}/products/{i}/image" for i in (0, 1)
    ]
    assert [s for s in sources if "/image" in s] == pictures
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert csp(r)["img-src"] == ["'self'", "data:"]
    policy = r["Content-Security-Policy"]
    assert "https:" not in policy and "http:" not in policy


def test_it_links_to_pictures_when_they_are_off(
    team: Team, client: Client, make_order: MakeOrder, settings: Any
) -> None:
    settings.PRODUCT_IMAGES = "off"
    evil = 'https://e.com/"onerror="x'
    products = [*PRODUCTS, {"name": "Evil", "price": 1, "count": 1, "image": evil}]
    order = full_order(make_order, team, products=products)
    client.force_login(team.owner)

    html = client.get(url(order)).content.decode()

    assert "<img" not in html
    assert "/image" not in html
    assert (
        '<a class="product-picture-link" href="https://example.com/s.jpg?a=1&amp;b=2" '
        'rel="noopener noreferrer nofollow" referrerpolicy="no-referrer">picture</a>' in html
    )
    assert 'href="https://e.com/&quot;onerror=&quot;x"' in html


def test_it_lets_a_viewer_read_without_a_delete_button(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = full_order(make_order, team)
    client.force_login(team.viewer)
    r = client.get(url(order))
    assert r.status_code == 200
    assert "Delete this order" not in r.content.decode()


def test_it_hides_the_order_from_an_outsider(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = full_order(make_order, team)
    client.force_login(team.outsider)
    assert client.get(url(order)).status_code == 404


def test_it_finds_no_order_of_another_project_under_this_projects_url(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    other = make_shop(domain="elsewhere.example")
    theirs = make_order(other.project)
    client.force_login(team.owner)
    r = client.get(f"/projects/{team.shop.project.pk}/orders/{theirs.pk}/")
    assert r.status_code == 404


def test_it_answers_404_for_an_order_that_does_not_exist(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    assert client.get(f"/projects/{team.shop.project.pk}/orders/999999/").status_code == 404


def test_it_shows_a_product_line_beyond_the_decimal_defaults_exactly(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    # The API takes price and count up to int64 each: their product has 38 digits.
    biggest = 2**63 - 1
    line = {"name": "Yacht", "price": biggest, "count": biggest, "image": ""}
    order = full_order(make_order, team, total=biggest, currency="USD", products=[line])
    client.force_login(team.owner)
    r = client.get(url(order))
    assert r.status_code == 200
    html = r.content.decode()
    assert "$850,705,917,302,346,158,473,969,077,842,325,012.49" in html
    assert "$92,233,720,368,547,758.07" in html


def test_it_answers_404_for_ids_beyond_the_databases_integers(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    order = make_order(team.shop.project)
    client.force_login(team.owner)
    project = team.shop.project.pk
    for address in (
        f"/projects/{project}/orders/{2**63}/",
        f"/projects/{project}/orders/{10**30}/",
        f"/projects/{2**63}/orders/{order.pk}/",
        f"/projects/{project}/orders/0/",
    ):
        assert client.get(address).status_code == 404, address
    assert client.post(f"/projects/{project}/orders/{2**63}/delete/").status_code == 404


def test_it_shows_delivery_attempts_in_the_projects_zone_named_once(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    from orderreport.notify.models import Attempt, Delivery
    from tests.notify.conftest import telegram_channel

    team.shop.project.timezone = "Europe/Moscow"  # UTC+3
    team.shop.project.save()
    order = full_order(make_order, team)  # received 21:30 UTC on 1 May: 00:30 on 2 May there
    sent = dt.datetime(2026, 5, 1, 21, 31, 7, tzinfo=dt.UTC)
    delivery = Delivery.objects.create(
        channel=telegram_channel(team.shop),
        topic="order",
        order=order,
        status="sent",
        next_attempt_at=sent,
        created=sent,
    )
    Attempt.objects.create(delivery=delivery, at=sent, duration_ms=84, outcome="sent")
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)

    html = client.get(url(order)).content.decode()

    assert "2 мая 2026, 00:30" in html  # the order
    assert "2 мая 2026, 00:31:07" in html  # its delivery attempt, not 21:31 UTC
    assert "21:31" not in html
    assert "84 мс" in html
    assert html.count("Europe/Moscow") == 1


def test_it_marks_a_test_order(team: Team, client: Client, make_order: MakeOrder) -> None:
    test = full_order(make_order, team, is_test=True)
    real = full_order(make_order, team, external_id="real-1")
    client.force_login(team.owner)
    html = client.get(url(test)).content.decode()
    assert '<span class="badge test">test</span>' in html
    assert "A test order from the integration page: not counted against the plan" in html
    assert 'class="badge test"' not in client.get(url(real)).content.decode()
