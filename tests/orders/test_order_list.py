"""The order list page: /projects/<id>/orders/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from orderreport.listing.queries import PAGE_SIZE
from tests.conftest import Team
from tests.orders.conftest import MakeOrder

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team) -> str:
    return f"/projects/{team.shop.project.pk}/orders/"


def order_ids(html: str) -> list[str]:
    """The order ids shown in the table, top to bottom."""
    return re.findall(r'<a href="/projects/\d+/orders/\d+/">([^<]*)</a>', html)


def test_it_lists_orders_newest_first(team: Team, client: Client, make_order: MakeOrder) -> None:
    make_order(team.shop.project, T0, external_id="A-1", username="Anna")
    make_order(team.shop.project, T0 + dt.timedelta(minutes=5), external_id="B-2")
    client.force_login(team.owner)

    r = client.get(url(team))

    assert r.status_code == 200
    html = r.content.decode()
    assert order_ids(html) == ["B-2", "A-1"]
    assert "Anna" in html


def test_it_lets_a_viewer_read(team: Team, client: Client, make_order: MakeOrder) -> None:
    make_order(team.shop.project, external_id="A-1")
    client.force_login(team.viewer)
    r = client.get(url(team))
    assert r.status_code == 200
    assert order_ids(r.content.decode()) == ["A-1"]


def test_it_hides_the_project_from_an_outsider(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    assert client.get(url(team)).status_code == 404


def test_it_sends_an_anonymous_visitor_to_log_in(team: Team, client: Client) -> None:
    r = client.get(url(team))
    assert r.status_code == 302
    assert "next=" in r["Location"]


def test_it_never_shows_another_tenants_orders(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    from tests.conftest import make_shop

    other = make_shop(domain="elsewhere.example")
    make_order(other.project, external_id="THEIRS")
    make_order(team.shop.project, external_id="MINE")
    client.force_login(team.owner)
    assert order_ids(client.get(url(team)).content.decode()) == ["MINE"]


def test_it_formats_money_in_the_viewers_language(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project, total=99000, currency="RUB")
    team.owner.language = "ru"  # a signed-in user's saved language decides
    team.owner.save()
    client.force_login(team.owner)
    r = client.get(url(team))
    assert "990,00\xa0₽" in r.content.decode()


def test_it_escapes_customer_data(team: Team, client: Client, make_order: MakeOrder) -> None:
    make_order(
        team.shop.project,
        external_id="<script>alert(1)</script>",
        username="<img src=x onerror=alert(2)>",
        email='"><script>alert(3)</script>',
    )
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_shows_line_breaks_and_bidi_overrides_escaped(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    fake = "\r\nFake: line\u202eevil"
    make_order(team.shop.project, external_id="A-1" + fake, username="Ann" + fake, email="a@b.c")
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert "\u202e" not in html
    assert "\nFake" not in html
    assert "A-1\\r\\nFake: line\\u202eevil" in html
    assert "Ann\\r\\nFake: line\\u202eevil" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "anna@exa"}, ["A-1"]),
        ({"q": "ANNA@EXA"}, ["A-1"]),
        ({"q": "+7 999"}, ["A-1"]),
        ({"q": "b-2"}, ["B-2"]),
        ({"q": "Борис"}, ["B-2"]),
        ({"currency": "usd"}, ["B-2"]),
        ({"currency": "RUB", "q": "anna"}, ["A-1"]),
    ],
)
def test_it_filters_by_text_and_currency(
    team: Team, client: Client, make_order: MakeOrder, query: dict[str, str], expected: list[str]
) -> None:
    make_order(team.shop.project, T0, external_id="A-1", email="anna@example.com", phone="+7 999")
    make_order(team.shop.project, T0, external_id="B-2", username="Борис Петров", currency="USD")
    client.force_login(team.owner)
    assert order_ids(client.get(url(team), query).content.decode()) == expected


def test_it_reads_dates_as_days_in_the_projects_time_zone(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    team.shop.project.timezone = "Europe/Moscow"  # UTC+3, no daylight saving
    team.shop.project.save()
    p = team.shop.project
    make_order(p, dt.datetime(2026, 5, 1, 20, 59, 59, tzinfo=dt.UTC), external_id="LATE-1-MAY")
    make_order(p, dt.datetime(2026, 5, 1, 21, 0, tzinfo=dt.UTC), external_id="EARLY-2-MAY")
    make_order(p, dt.datetime(2026, 5, 2, 20, 59, tzinfo=dt.UTC), external_id="LATE-2-MAY")
    make_order(p, dt.datetime(2026, 5, 2, 21, 0, tzinfo=dt.UTC), external_id="EARLY-3-MAY")
    client.force_login(team.owner)

    r = client.get(url(team), {"start": "2026-05-02", "end": "2026-05-02"})

    assert order_ids(r.content.decode()) == ["LATE-2-MAY", "EARLY-2-MAY"]


def test_it_shows_received_time_in_the_projects_time_zone(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    team.shop.project.timezone = "Asia/Tokyo"  # UTC+9
    team.shop.project.save()
    make_order(team.shop.project, dt.datetime(2026, 5, 1, 20, 30, tzinfo=dt.UTC))
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert 'datetime="2026-05-02T05:30:00+09:00"' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-13-45"}, "Enter a valid date."),
        ({"end": "yesterday"}, "Enter a valid date."),
        ({"start": "2026-05-03", "end": "2026-05-01"}, "The end date is before the start date."),
        ({"start": "0001-01-01"}, "Enter a date between 1970-01-01 and 9000-12-31."),
        ({"currency": "рубль"}, "Enter a three-letter currency code, such as RUB."),
        ({"period": "forever"}, "Select a valid choice."),
        ({"after": "not-a-cursor"}, "This page link is damaged."),
        ({"q": "x" * 201}, "Ensure this value has at most 200 characters"),
    ],
)
def test_it_explains_a_filter_it_cannot_read(
    team: Team, client: Client, make_order: MakeOrder, query: dict[str, str], message: str
) -> None:
    make_order(team.shop.project, external_id="A-1")
    client.force_login(team.owner)

    r = client.get(url(team), query)

    assert r.status_code == 400
    html = r.content.decode()
    assert message in html.replace("&#x27;", "'")
    assert order_ids(html) == []  # no list that ignores the filter the user asked for


def test_it_keeps_what_was_typed_next_to_the_error(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    html = client.get(url(team), {"start": "2026-13-45", "q": "anna"}).content.decode()
    assert 'value="2026-13-45"' in html
    assert 'value="anna"' in html


def test_it_pages_with_an_older_orders_link(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    # One more than a page, with the page boundary falling inside a run of equal timestamps.
    for i in range(PAGE_SIZE + 1):
        make_order(team.shop.project, T0 - dt.timedelta(seconds=i // 3), external_id=f"N{i:03}")
    client.force_login(team.owner)

    first = client.get(url(team)).content.decode()
    link = re.search(r'<a class="button secondary" rel="next" href="([^"]+)"', first)
    assert link is not None
    second = client.get(url(team) + link.group(1).replace("&amp;", "&")).content.decode()

    shown = order_ids(first) + order_ids(second)
    assert len(order_ids(first)) == PAGE_SIZE
    assert sorted(shown) == sorted(f"N{i:03}" for i in range(PAGE_SIZE + 1))
    assert 'rel="next"' not in second
    assert "hx-trigger" not in second  # only the first page follows new orders


def test_it_keeps_filters_on_the_next_page_link(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    for i in range(PAGE_SIZE + 1):
        make_order(team.shop.project, T0 - dt.timedelta(seconds=i), currency="USD")
    client.force_login(team.owner)
    html = client.get(url(team), {"currency": "USD"}).content.decode()
    link = re.search(r'rel="next" href="([^"]+)"', html)
    assert link is not None and "currency=USD" in link.group(1)


def test_it_polls_for_newer_orders_on_the_first_page(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    newest = make_order(team.shop.project, T0)
    client.force_login(team.owner)
    html = client.get(url(team), {"currency": "RUB"}).content.decode()
    poller = re.search(r'hx-get="([^"]+)" hx-trigger="every 5s" hx-swap="outerHTML"', html)
    assert poller is not None
    micros = (T0 - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    assert f"since={micros}.{newest.pk}" in poller.group(1)
    assert "currency=RUB" in poller.group(1)
    assert "<script>" not in html.split("</head>")[1]  # no inline scripts for the CSP


def test_it_says_what_to_do_when_there_are_no_orders(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert "No orders yet" in html
    # The empty list still watches for the first order (and reloads when it comes).
    assert f'hx-get="/projects/{team.shop.project.pk}/orders/new/?since="' in html


def test_it_offers_to_clear_filters_that_match_nothing(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project)
    client.force_login(team.owner)
    html = client.get(url(team), {"q": "nobody"}).content.decode()
    assert "No orders match these filters." in html
    assert "Show all orders" in html


def test_it_limits_quick_periods_to_days_in_the_project_time_zone(team: Team) -> None:
    from zoneinfo import ZoneInfo

    from orderreport.orders.forms import OrderFilterForm

    zone = ZoneInfo("Asia/Vladivostok")  # UTC+10
    # 15:30 UTC on 1 May is already 01:30 on 2 May in Vladivostok.
    now = dt.datetime(2026, 5, 1, 15, 30, tzinfo=dt.UTC)
    for period, first_day in [("today", 2), ("7d", 26), ("30d", 3)]:
        form = OrderFilterForm({"period": period}, zone=zone)
        assert form.is_valid()
        start = form.filters(now).period.start
        assert start is not None
        local = start.astimezone(zone)
        assert (local.day, local.hour, local.minute) == (first_day, 0, 0)
        assert form.filters(now).period.end is None


def test_it_survives_products_and_data_the_api_would_never_store(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    # Rows edited by hand or left by an older version must not take the whole list down.
    odd = make_order(team.shop.project, T0, external_id="ODD", products={"a": 1}, data="text")
    make_order(
        team.shop.project,
        T0 - dt.timedelta(seconds=1),
        external_id="PARTS",
        products=[{"name": "no count"}, "text", {"count": "2"}, {"count": 2}],
    )
    client.force_login(team.owner)
    r = client.get(url(team))
    assert r.status_code == 200
    assert order_ids(r.content.decode()) == ["ODD", "PARTS"]
    assert client.get(f"{url(team)}{odd.pk}/").status_code == 200


def test_it_lets_typed_dates_replace_a_quick_period(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project, dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC), external_id="MAY")
    client.force_login(team.owner)
    # The form carries the quick period in a hidden field; the dates typed win.
    r = client.get(url(team), {"period": "today", "start": "2026-05-01", "end": "2026-05-01"})
    assert r.status_code == 200
    assert order_ids(r.content.decode()) == ["MAY"]


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [("en", "Dec 2, 2026", "12/2/"), ("ru", "2 дек. 2026, 01:10", "12/02/2026")],
)
def test_it_writes_dates_the_way_the_reader_reads_them(
    team: Team, client: Client, make_order: MakeOrder, language: str, shown: str, not_shown: str
) -> None:
    team.shop.project.timezone = "Europe/Moscow"
    team.shop.project.save()
    make_order(team.shop.project, dt.datetime(2026, 12, 1, 22, 10, tzinfo=dt.UTC))
    team.owner.language = language
    team.owner.save()
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert shown in html
    assert not_shown not in html
    assert html.count("Europe/Moscow") == 1  # the zone is named once, by the filters


def test_it_marks_the_integration_pages_test_orders(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project, T0, external_id="real-1")
    make_order(team.shop.project, T0 + dt.timedelta(minutes=1), external_id="test-1", is_test=True)
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    rows = re.findall(r"<tr[^>]*>\s*<td>(.*?)</td>", html, re.S)
    assert [("test-" in r, 'class="badge test"' in r) for r in rows] == [
        (True, True),
        (False, False),
    ]
    assert ">тест</span>" in rows[0]


def test_it_hides_or_shows_only_test_orders(
    team: Team, client: Client, make_order: MakeOrder
) -> None:
    make_order(team.shop.project, T0, external_id="real-1")
    make_order(team.shop.project, T0 + dt.timedelta(minutes=1), external_id="test-1", is_test=True)
    client.force_login(team.owner)
    assert order_ids(client.get(url(team)).content.decode()) == ["test-1", "real-1"]
    assert order_ids(client.get(url(team), {"test": "hide"}).content.decode()) == ["real-1"]
    only = client.get(url(team), {"test": "only"}).content.decode()
    assert order_ids(only) == ["test-1"]
    assert '<option value="only" selected>Only these</option>' in only
    assert client.get(url(team), {"test": "maybe"}).status_code == 400
    export = b"".join(
        client.get(f"{url(team)}export/", {"format": "csv", "test": "hide"}).streaming_content
    )
    assert b"real-1" in export and b"test-1" not in export
