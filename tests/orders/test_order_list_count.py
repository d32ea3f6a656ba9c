"""The order list says how much there is ("1-50 of 1,234") and goes back one page."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

import pytest
from django.db import connection
from django.test import Client

from orderreport.listing import queries
from orderreport.listing.queries import PAGE_SIZE
from orderreport.orders.models import Order
from orderreport.projects.models import Project
from tests.conftest import Team, is_postgres

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team) -> str:
    return f"/projects/{team.shop.project.pk}/orders/"


def seed(project: Project, n: int, start: int = 0, **fields: object) -> None:
    """n orders a minute apart (the newest last), written at once."""
    Order.objects.bulk_create(
        [
            Order(
                project=project,
                external_id=f"o-{i}",
                total=1000,
                received_at=T0 + dt.timedelta(minutes=i),
                **{"currency": "RUB", **fields},
            )
            for i in range(start, start + n)
        ],
        batch_size=2000,
    )


def order_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/\d+/orders/\d+/">([^<]*)</a>', html)


def count_line(html: str) -> str:
    found = re.search(r'<span class="count">([^<]*)</span>', html)
    return htmllib.unescape(found.group(1)) if found else ""


def link(html: str, rel: str) -> str:
    """The page's link (a query string: the same page's address) with rel=`rel`."""
    found = re.search(rf'rel="{rel}" href="([^"]*)"', html)
    assert found, f"no {rel} link"
    project = re.search(r'href="/projects/(\d+)/orders/', html)
    assert project
    return f"/projects/{project.group(1)}/orders/" + htmllib.unescape(found.group(1))


def test_it_says_how_many_orders_there_are(team: Team, client: Client) -> None:
    seed(team.shop.project, 3)
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert count_line(html) == "1–3 of 3"  # noqa: RUF001
    assert 'rel="prev"' not in html


def test_it_goes_forward_and_back_one_page_at_a_time(team: Team, client: Client) -> None:
    seed(team.shop.project, 2 * PAGE_SIZE + 5)
    client.force_login(team.owner)

    first = client.get(url(team)).content.decode()
    assert count_line(first) == "1–50 of 105"  # noqa: RUF001
    second = client.get(link(first, "next")).content.decode()
    assert count_line(second) == "51–100 of 105"  # noqa: RUF001
    third = client.get(link(second, "next")).content.decode()
    assert count_line(third) == "101–105 of 105"  # noqa: RUF001
    assert order_ids(third) == [f"o-{i}" for i in range(4, -1, -1)]
    assert 'rel="next"' not in third

    back = client.get(link(third, "prev")).content.decode()
    assert order_ids(back) == order_ids(second)
    assert count_line(back) == "51–100 of 105"  # noqa: RUF001
    # From the second page, back is the first page itself: no cursor, polling again.
    assert "before=" not in link(back, "prev") and "after=" not in link(back, "prev")
    top = client.get(link(back, "prev")).content.decode()
    assert order_ids(top) == order_ids(first)
    assert 'class="poller"' in top


def test_it_counts_filtered_lists_and_keeps_filters_on_the_back_link(
    team: Team, client: Client
) -> None:
    seed(team.shop.project, PAGE_SIZE + 10, currency="USD")
    seed(team.shop.project, 7, start=1000)
    client.force_login(team.owner)
    first = client.get(url(team), {"currency": "USD"}).content.decode()
    assert count_line(first) == "1–50 of 60"  # noqa: RUF001
    second = client.get(link(first, "next")).content.decode()
    assert count_line(second) == "51–60 of 60"  # noqa: RUF001
    assert "currency=USD" in link(second, "prev")


def test_it_counts_in_the_readers_language(team: Team, client: Client) -> None:
    seed(team.shop.project, 3)
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    assert count_line(client.get(url(team)).content.decode()) == "1–3 из 3"  # noqa: RUF001


def test_it_counts_exactly_up_to_ten_thousand(team: Team, client: Client) -> None:
    seed(team.shop.project, 10_000)
    client.force_login(team.owner)
    assert count_line(client.get(url(team)).content.decode()) == "1–50 of 10,000"  # noqa: RUF001

    seed(team.shop.project, 1, start=10_000)
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_order")
    line = count_line(client.get(url(team)).content.decode())
    if is_postgres():
        # The planner's estimate, from the statistics ANALYZE just gathered.
        assert re.fullmatch(r"1–50 of about 10,0\d\d", line), line  # noqa: RUF001
    else:
        assert line == "1–50 of more than 10,000"  # noqa: RUF001
    # A filtered list never estimates: the planner guesses a text search badly.
    filtered = client.get(url(team), {"q": "o-"}).content.decode()
    assert count_line(filtered) == "1–50 of more than 10,000"  # noqa: RUF001


def test_it_says_past_the_first_ones_deep_in_a_long_list(
    team: Team, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "EXACT_UP_TO", 20)
    seed(team.shop.project, PAGE_SIZE + 5)
    client.force_login(team.owner)
    first = client.get(url(team)).content.decode()
    assert count_line(first).startswith("1–50 of ")  # noqa: RUF001
    second = client.get(link(first, "next")).content.decode()
    assert count_line(second).startswith("Past the first 20")
    assert order_ids(second) == [f"o-{i}" for i in range(4, -1, -1)]
    # Past the exact count the link back carries a cursor; it still lands on the first page.
    back = client.get(link(second, "prev")).content.decode()
    assert order_ids(back) == order_ids(first)
