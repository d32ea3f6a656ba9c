"""The read API's lists: filters, keyset pagination (also with inserts between pages), limit
bounds, tenant isolation, and the indexes that serve each filter on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from orderreport.ingest.read import order_rows
from orderreport.listing.queries import Cursor, Period, older_than
from orderreport.orders.models import Order
from orderreport.orders.queries import OrderFilters
from orderreport.orders.services import change_status
from orderreport.projects import services
from orderreport.projects.models import Event
from tests.conftest import Shop
from tests.ingest.helpers import assert_error
from tests.ingest.read_helpers import EVENTS, ORDERS, T0, get, make_order, make_record, walk


@pytest.fixture
def sk(shop: Shop) -> str:
    return services.create_server_key(shop.project, "CRM")[1]


def ids(client: Client, sk: str, params: dict[str, Any], path: str = ORDERS) -> list[str]:
    response = get(client, path, sk, params)
    assert response.status_code == 200, response.content
    name = "orders" if path == ORDERS else "events"
    return [item["id"] for item in response.json()[name]]


def test_it_filters_by_status_and_currency(client: Client, shop: Shop, sk: str) -> None:
    paid = make_order(shop.project, currency="USD")
    change_status(paid, "paid", source="api")
    rub = make_order(shop.project, T0 + dt.timedelta(seconds=1))
    assert ids(client, sk, {"status": "paid"}) == [paid.external_id]
    assert ids(client, sk, {"status": "new"}) == [rub.external_id]
    assert ids(client, sk, {"currency": "usd"}) == [paid.external_id]
    assert ids(client, sk, {"currency": "RUB", "status": "paid"}) == []


def test_it_filters_by_creation_time_dates_and_datetimes(
    client: Client, shop: Shop, sk: str
) -> None:
    day1 = make_order(shop.project, dt.datetime(2026, 5, 1, 23, 59, tzinfo=dt.UTC))
    day2 = make_order(shop.project, dt.datetime(2026, 5, 2, 0, 0, tzinfo=dt.UTC))
    day3 = make_order(shop.project, dt.datetime(2026, 5, 3, 10, 0, tzinfo=dt.UTC))
    assert ids(client, sk, {"created_from": "2026-05-02"}) == [day3.external_id, day2.external_id]
    # A date as the end includes that whole day.
    assert ids(client, sk, {"created_to": "2026-05-02"}) == [day2.external_id, day1.external_id]
    # A datetime as the end includes that moment; offsets are honoured.
    params = {"created_from": "2026-05-02T03:00:00+03:00", "created_to": "2026-05-03T10:00:00Z"}
    assert ids(client, sk, params) == [day3.external_id, day2.external_id]
    assert ids(client, sk, {"created_to": "2026-05-02T00:00:00"}) == [
        day2.external_id,
        day1.external_id,
    ]


def test_an_unencoded_plus_of_an_offset_is_understood(client: Client, shop: Shop, sk: str) -> None:
    order = make_order(shop.project, dt.datetime(2026, 5, 2, 0, 0, tzinfo=dt.UTC))
    # "?created_from=2026-05-02T03:00:00+03:00" typed by hand: the "+" arrives as a space.
    response = client.get(ORDERS + "?created_from=2026-05-02T03:00:00+03:00", HTTP_X_API_KEY=sk)
    assert [o["id"] for o in response.json()["orders"]] == [order.external_id]


def test_it_filters_by_the_last_change(client: Client, shop: Shop, sk: str) -> None:
    old = make_order(shop.project, T0 - dt.timedelta(days=10))
    changed = make_order(shop.project, T0 - dt.timedelta(days=9))
    change_status(changed, "shipped", source="api")  # updated now
    recent = make_order(shop.project, T0 + dt.timedelta(days=3650))  # arrived "later"
    since = (T0 - dt.timedelta(days=1)).isoformat()
    assert ids(client, sk, {"updated_since": since}) == [recent.external_id, changed.external_id]
    assert old.external_id in ids(client, sk, {"updated_since": "2000-01-01"})


def test_events_filter_by_event_and_time(client: Client, shop: Shop, sk: str) -> None:
    other = Event.objects.create(project=shop.project, name="Subscribe")
    a = make_record(shop.project, shop.event, T0)
    b = make_record(shop.project, other, T0 + dt.timedelta(days=1))
    assert ids(client, sk, {"event": other.key}, EVENTS) == [str(b.pk)]
    assert ids(client, sk, {"event": shop.event.key}, EVENTS) == [str(a.pk)]
    assert ids(client, sk, {"created_from": "2026-05-02"}, EVENTS) == [str(b.pk)]
    assert ids(client, sk, {"created_to": "2026-05-01"}, EVENTS) == [str(a.pk)]


# --- pagination --------------------------------------------------------------------------


def test_the_default_limit_is_50_and_500_is_the_most(client: Client, shop: Shop, sk: str) -> None:
    Order.objects.bulk_create(
        Order(
            project=shop.project,
            external_id=f"bulk-{i}",
            total=1,
            currency="RUB",
            received_at=T0 + dt.timedelta(seconds=i),
        )
        for i in range(501)
    )
    body = get(client, ORDERS, sk).json()
    assert len(body["orders"]) == 50 and body["next"]
    body = get(client, ORDERS, sk, {"limit": "500"}).json()
    assert len(body["orders"]) == 500 and body["next"]
    body = get(client, ORDERS, sk, {"limit": "500", "cursor": body["next"]}).json()
    assert [o["id"] for o in body["orders"]] == ["bulk-0"] and body["next"] is None
    assert len(get(client, ORDERS, sk, {"limit": "1"}).json()["orders"]) == 1


def test_pages_split_ties_without_gaps_or_repeats(client: Client, shop: Shop, sk: str) -> None:
    times = [T0, T0, T0 + dt.timedelta(seconds=1), T0, T0, T0, T0 - dt.timedelta(seconds=1)]
    orders = [make_order(shop.project, t) for t in times]
    expected = [
        o.external_id for o in sorted(orders, key=lambda o: (o.received_at, o.pk), reverse=True)
    ]
    pages = walk(client, ORDERS, sk, "orders", {"limit": "3"})
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == expected


def test_inserts_between_pages_neither_repeat_nor_skip_rows(
    client: Client, shop: Shop, sk: str
) -> None:
    before = [make_order(shop.project, T0 + dt.timedelta(seconds=i)) for i in range(7)]
    first = get(client, ORDERS, sk, {"limit": "3"}).json()
    # New orders arrive while the client reads: newer than everything it has seen.
    late = [make_order(shop.project, T0 + dt.timedelta(minutes=5 + i)) for i in range(4)]
    seen = [o["id"] for o in first["orders"]]
    cursor = first["next"]
    while cursor:
        body = get(client, ORDERS, sk, {"limit": "3", "cursor": cursor}).json()
        seen += [o["id"] for o in body["orders"]]
        cursor = body["next"]
    assert seen == [o.external_id for o in reversed(before)]
    assert len(set(seen)) == len(seen)
    # A new walk starts with them.
    assert ids(client, sk, {"limit": "4"}) == [o.external_id for o in reversed(late)]


def test_filters_and_pagination_combine(client: Client, shop: Shop, sk: str) -> None:
    wanted = []
    for i in range(9):
        order = make_order(shop.project, T0 + dt.timedelta(seconds=i))
        if i % 3 == 0:
            change_status(order, "paid", source="api")
            wanted.append(order.external_id)
    pages = walk(client, ORDERS, sk, "orders", {"status": "paid", "limit": "2"})
    assert pages == [wanted[::-1][:2], wanted[::-1][2:]]


def test_events_page_through_too(client: Client, shop: Shop, sk: str) -> None:
    records = [
        make_record(shop.project, shop.event, T0 + dt.timedelta(seconds=i)) for i in range(5)
    ]
    pages = walk(client, EVENTS, sk, "events", {"limit": "2"})
    assert pages == [[str(r.pk) for r in reversed(records)][i : i + 2] for i in (0, 2, 4)]


# --- tenant isolation --------------------------------------------------------------------


def test_a_server_key_never_sees_another_projects_orders_or_events(
    client: Client, shop: Shop, other_shop: Shop, sk: str
) -> None:
    mine = make_order(shop.project, external_id="same-id", total=1)
    theirs = make_order(other_shop.project, T0 + dt.timedelta(hours=1), external_id="same-id")
    only_theirs = make_order(other_shop.project, external_id="theirs-only")
    my_record = make_record(shop.project, shop.event)
    make_record(other_shop.project, other_shop.event, T0 + dt.timedelta(hours=1))

    assert ids(client, sk, {}) == [mine.external_id]
    body = get(client, ORDERS, sk, {"id": "same-id"}).json()
    assert body["total"] == 1 and body["username"] == mine.username != theirs.username
    response = get(client, ORDERS, sk, {"id": only_theirs.external_id})
    assert_error(response, 404, "Order not found", "order_not_found")
    assert ids(client, sk, {}, EVENTS) == [str(my_record.pk)]
    # Another project's event key is unknown here, not a way in.
    response = get(client, EVENTS, sk, {"event": other_shop.event.key})
    assert response.status_code == 422
    # A cursor is only a position: it never leads into another project's rows.
    cursor = Cursor(T0 + dt.timedelta(days=1), 10**12).encode()
    assert ids(client, sk, {"cursor": cursor}) == [mine.external_id]


def test_a_browser_key_never_reads_another_projects_order(
    client: Client, shop: Shop, other_shop: Shop
) -> None:
    make_order(other_shop.project, external_id="theirs")
    response = get(client, ORDERS, shop.key.key, {"id": "theirs"}, origin=shop.origin)
    assert_error(response, 404, "Order not found", "order_not_found")


# --- query plans (PostgreSQL) ------------------------------------------------------------


def _plan(qs: Any) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny test tables make a sequential scan and a sort always cheapest; this asks whether
        # an index CAN serve the query, which is what matters at scale.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _page_query(project_id: int, filters: OrderFilters, **kw: Any) -> Any:
    after = Cursor(T0, 10**9)
    qs = order_rows(project_id, filters, **kw).filter(older_than(after))
    return qs.order_by("-received_at", "-id")[:51]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (OrderFilters(), "order_project_recent"),
        (OrderFilters(status="paid"), "order_project_status"),
        (OrderFilters(currency="USD"), "order_project_currency"),
        (OrderFilters(period=Period(T0, T0 + dt.timedelta(days=1))), "order_project_recent"),
    ],
)
def test_each_order_list_walks_an_index_without_sorting(
    shop: Shop, filters: OrderFilters, index: str
) -> None:
    make_order(shop.project)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    plan = _plan(_page_query(shop.project.pk, filters))
    assert index in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.postgres
def test_updated_since_is_served_by_its_index(shop: Shop) -> None:
    # With a few thousand orders and real statistics (ANALYZE, rolled back with the test),
    # a recent `updated_since` is answered from order_project_updated, not by reading the
    # project's orders one by one.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders_order (project_id, external_id, total, currency, username,"
            " email, phone, products, data, origin, user_agent, received_at, status)"
            " SELECT %s, 'g-' || n, 1, 'RUB', '', '', '', '[]', '[]', '', '',"
            " %s - n * interval '1 minute', 'new' FROM generate_series(1, 5000) AS n",
            [shop.project.pk, T0],
        )
        cursor.execute("ANALYZE orders_order")
    qs = order_rows(shop.project.pk, OrderFilters(), updated_since=T0 - dt.timedelta(minutes=3))
    sql, params = qs.order_by("-received_at", "-id")[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_project_updated" in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize("by_event", [False, True])
def test_the_event_list_walks_an_index(client: Client, shop: Shop, by_event: bool) -> None:
    from orderreport.events.models import EventRecord

    make_record(shop.project, shop.event)
    qs = EventRecord.objects.filter(project_id=shop.project.pk)
    if by_event:
        qs = qs.filter(event_id=shop.event.pk)
    qs = qs.filter(older_than(Cursor(T0, 10**9))).order_by("-received_at", "-id")[:51]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    plan = _plan(qs)
    assert ("record_event_recent" if by_event else "record_project_recent") in plan, plan
    assert "Sort" not in plan, plan
