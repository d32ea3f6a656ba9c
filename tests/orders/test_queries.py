"""The order list's keyset pagination and filters, tested on the query functions directly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from orderreport.listing.queries import Cursor, Period
from orderreport.orders.queries import (
    OrderFilters,
    filtered_orders,
    newer_orders,
    order_page,
)
from tests.conftest import Shop
from tests.orders.conftest import MakeOrder

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def walk(project_id: int, size: int, filters: OrderFilters | None = None) -> list[list[int]]:
    """Every page's ids, following the next-page cursor to the end."""
    pages, after = [], None
    while True:
        page = order_page(project_id, filters or OrderFilters(), after, size=size)
        pages.append([o.pk for o in page.rows])
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


def test_it_pages_through_ties_on_received_at_without_gaps_or_repeats(
    shop: Shop, make_order: MakeOrder
) -> None:
    # Seven orders, five of them in the same microsecond: pages of 3 split the tie twice.
    times = [T0, T0, T0 + dt.timedelta(seconds=1), T0, T0, T0, T0 - dt.timedelta(seconds=1)]
    orders = [make_order(shop.project, t) for t in times]
    expected = [o.pk for o in sorted(orders, key=lambda o: (o.received_at, o.pk), reverse=True)]

    pages = walk(shop.project.pk, size=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [pk for page in pages for pk in page] == expected


def test_it_ends_without_a_next_page_when_the_last_page_is_exactly_full(
    shop: Shop, make_order: MakeOrder
) -> None:
    for _ in range(4):
        make_order(shop.project, T0)
    assert [len(p) for p in walk(shop.project.pk, size=2)] == [2, 2]


def test_it_lists_only_the_projects_own_orders(
    shop: Shop, other_shop: Shop, make_order: MakeOrder
) -> None:
    mine = make_order(shop.project)
    make_order(other_shop.project, T0 + dt.timedelta(hours=1))
    assert walk(shop.project.pk, size=10) == [[mine.pk]]
    since = Cursor(T0 - dt.timedelta(days=1), 0)
    assert [o.pk for o in newer_orders(shop.project.pk, OrderFilters(), since)] == [mine.pk]


def test_it_returns_only_rows_newer_than_the_cursor_tie_included(
    shop: Shop, make_order: MakeOrder
) -> None:
    old = make_order(shop.project, T0 - dt.timedelta(seconds=5))
    shown = make_order(shop.project, T0)
    same_time_later_id = make_order(shop.project, T0)
    newest = make_order(shop.project, T0 + dt.timedelta(seconds=3))

    rows = newer_orders(shop.project.pk, OrderFilters(), Cursor.of(shown))

    assert [o.pk for o in rows] == [newest.pk, same_time_later_id.pk]
    assert old.pk not in [o.pk for o in rows]


def test_it_sends_the_oldest_new_rows_first_when_there_are_too_many(
    shop: Shop, make_order: MakeOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderreport.listing import queries

    monkeypatch.setattr(queries, "NEWER_LIMIT", 2)
    shown = make_order(shop.project, T0)
    new = [make_order(shop.project, T0 + dt.timedelta(seconds=i)) for i in range(1, 4)]

    first = queries.keyset_newer(
        filtered_orders(shop.project.pk, OrderFilters()), Cursor.of(shown), 2
    )
    # The two oldest, newest first; the next poll from first[0] gets the third: no gap.
    assert [o.pk for o in first] == [new[1].pk, new[0].pk]
    second = newer_orders(shop.project.pk, OrderFilters(), Cursor.of(first[0]))
    assert [o.pk for o in second] == [new[2].pk]


def test_it_round_trips_a_cursor_through_its_text_form() -> None:
    cursor = Cursor(dt.datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC), 42)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text", ["", "abc", "12", "12.", ".5", "1.2.3", "1e5.3", "9" * 30 + ".1"])
def test_it_rejects_a_damaged_cursor(text: str) -> None:
    with pytest.raises(ValueError):
        Cursor.decode(text)


def test_it_filters_by_period_currency_and_text(shop: Shop, make_order: MakeOrder) -> None:
    a = make_order(shop.project, T0, currency="USD", email="Anna@Example.com", phone="+7 999")
    b = make_order(shop.project, T0 + dt.timedelta(days=2), username="Борис", external_id="X-77")
    pid = shop.project.pk

    def ids(**kw: object) -> list[int]:
        return [o.pk for o in order_page(pid, OrderFilters(**kw)).rows]  # type: ignore[arg-type]

    assert ids(currency="USD") == [a.pk]
    assert ids(text="anna@example") == [a.pk]  # case-insensitive
    assert ids(text="+7 99") == [a.pk]
    assert ids(text="x-77") == [b.pk]
    assert ids(text="Борис") == [b.pk]
    assert ids(text="100%") == []  # LIKE wildcards are taken literally
    assert ids(period=Period(start=T0 + dt.timedelta(days=1))) == [b.pk]
    assert ids(period=Period(end=T0 + dt.timedelta(days=1))) == [a.pk]


def test_it_counts_items_as_the_sum_of_product_counts(shop: Shop, make_order: MakeOrder) -> None:
    products = [
        {"name": "A", "price": 100, "count": 2, "image": "https://example.com/a.jpg"},
        {"name": "B", "price": 100, "count": 3, "image": "https://example.com/b.jpg"},
    ]
    make_order(shop.project, products=products)
    make_order(shop.project, T0 - dt.timedelta(seconds=1))
    rows = order_page(shop.project.pk, OrderFilters()).rows
    assert [o.items for o in rows] == [5, 0]  # type: ignore[attr-defined]


def _plan(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        # On a test table of a few rows a sequential scan is always cheapest; this asks
        # whether the index CAN serve the query in order, which is what matters at scale.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        # Likewise a sort of a handful of rows is cheap; a plan can only avoid Sort (costed
        # as prohibitive here) by reading an index in order. Without this, the choice
        # depended on how many pages earlier tests' rolled-back rows left in the table.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=False)
def test_it_walks_the_recent_index_from_the_cursor_without_sorting(
    shop: Shop, make_order: MakeOrder
) -> None:
    make_order(shop.project)
    after = Cursor(T0, 10**9)
    qs = filtered_orders(shop.project.pk, OrderFilters())
    from orderreport.listing.queries import older_than

    sql, params = (
        qs.filter(older_than(after)).order_by("-received_at", "-id")[:51].query.sql_with_params()
    )
    plan = _plan(sql, params)
    assert "order_project_recent" in plan
    assert "Sort" not in plan
    # The cursor's timestamp bounds the index range: deep pages cost what the first one does.
    assert "Index Cond: ((project_id = " in plan and "received_at <=" in plan


@pytest.mark.postgres
def test_it_searches_with_the_trigram_index_on_postgresql(
    shop: Shop, make_order: MakeOrder
) -> None:
    from orderreport.orders.models import Order
    from orderreport.orders.queries import SearchText

    make_order(shop.project)
    # Without the project condition the trigram index is the only index that can answer, so
    # this shows that the query's expression is exactly the indexed one (a mismatch would
    # silently fall back to reading every order).
    qs = Order.objects.alias(search=SearchText()).filter(search__icontains="john")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_search_trgm" in plan
