"""Every figure of a report against a naive recomputation from the orders themselves.

Random orders in several currencies and statuses (some of them the integration page's test
orders, which no figure counts), at times around local midnights and DST changes, recorded
through the write side (its own statements on each database), then moved
through statuses, updated and deleted as the dashboard and the API do; some tallies compacted
on the way. A second tenant's orders sit at the same times and must never count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderreport.events import tallies as event_tallies
from orderreport.events.models import EventTally
from orderreport.orders import tallies
from orderreport.orders.models import Order, OrderTally, ProductTally, Status
from orderreport.orders.services import change_status, delete_order, update_order
from orderreport.projects.models import Event
from orderreport.reports.figures import GROUPS, Period, report
from tests.conftest import Shop, make_shop
from tests.reports.helpers import add_order, add_record, naive, naive_top

pytestmark = pytest.mark.django_db

ZONES = [
    "UTC",
    "Europe/Moscow",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # a DST change of half an hour
    "America/Havana",  # DST changes at local midnight
]
# Around DST changes of 2026 and ordinary midnights.
ANCHORS = [
    dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC),  # United States, spring
    dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC),  # Europe, spring
    dt.datetime(2026, 4, 4, 15, 0, tzinfo=dt.UTC),  # Lord Howe, autumn
    dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC),  # Europe, autumn
    dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC),  # United States and Cuba, autumn
    dt.datetime(2026, 6, 30, 21, 0, tzinfo=dt.UTC),  # Moscow's midnight
    dt.datetime(2026, 12, 31, 23, 50, tzinfo=dt.UTC),  # the year's end, UTC
]
PRODUCTS = ["Tea", "Cup", "Чайник", "Tea "]

product = st.fixed_dictionaries(
    {
        "name": st.sampled_from(PRODUCTS),
        "price": st.integers(0, 10**9),
        "count": st.integers(1, 50),
    }
)
order_spec = st.fixed_dictionaries(
    {
        "offset": st.integers(-3 * 86400, 3 * 86400),
        "currency": st.sampled_from(["RUB", "USD", "EUR"]),
        "total": st.integers(0, 10**12),
        "products": st.lists(product, max_size=3),
        "status": st.sampled_from(Status.values),
        "then": st.sampled_from(["keep", "keep", "keep", "update", "delete", "status_back"]),
        "tenant": st.sampled_from(["mine", "mine", "mine", "other"]),
        "test": st.sampled_from([False, False, False, True]),
    }
)
record_spec = st.tuples(st.integers(-3 * 86400, 3 * 86400), st.integers(0, 1))


@pytest.fixture
def shops(db: None) -> tuple[Shop, Shop]:
    mine = make_shop(plan="unlimited")
    other = make_shop(domain="other.example", plan="unlimited")
    return mine, other


def _clean(*shops: Shop) -> None:
    ids = [s.project.pk for s in shops]
    Order.objects.filter(project_id__in=ids).delete()
    for model in (OrderTally, ProductTally, EventTally):
        model.objects.filter(project_id__in=ids).delete()
    for s in shops:
        s.project.event_records.all().delete()


def _build(shops: tuple[Shop, Shop], anchor: dt.datetime, specs: list[dict[str, Any]],
           records: list[tuple[int, int]], compact_every: int) -> list[Event]:  # fmt: skip
    mine, other = shops
    events = [mine.event, Event.objects.get_or_create(project=mine.project, name="Quote")[0]]
    for n, spec in enumerate(specs):
        shop = mine if spec["tenant"] == "mine" else other
        at = anchor + dt.timedelta(seconds=spec["offset"])
        order = add_order(shop.project, at, spec["total"], spec["currency"], spec["products"],
                          is_test=spec["test"])  # fmt: skip
        if spec["status"] != Status.NEW:
            change_status(order, spec["status"], source="api")
        if spec["then"] == "update":
            update_order(shop.project.pk, order.external_id,
                         {"total": spec["total"] // 2 + 1, "currency": "USD",
                          "products": spec["products"][:1]})  # fmt: skip
        elif spec["then"] == "delete":
            delete_order(order)
        elif spec["then"] == "status_back":
            change_status(order, Status.NEW, source="dashboard")
        if compact_every and n % compact_every == 0:
            tallies.compact(limit=3)
    for offset, which in records:
        add_record(events[which], anchor + dt.timedelta(seconds=offset))
        add_record(other.event, anchor + dt.timedelta(seconds=offset))
    if compact_every:
        event_tallies.compact(limit=5)
    return events


def _check(project_ids: list[int], period: Period, group: Any) -> None:
    got = report(project_ids, period, group)
    want = naive(project_ids, period, group)

    def money(m: Any) -> tuple[int, ...]:
        return (m.revenue, m.orders, m.items, m.cancelled_orders, m.cancelled_total)

    assert {m.currency: money(m) for m in got.money} == {c: money(m) for c, m in want.money.items()}
    assert {c: money(m) for c, m in got.previous.items()} == {
        c: money(m) for c, m in want.previous.items()
    }
    assert [p.start.astimezone(dt.UTC) for p in got.series] == [s for s, _m, _l in want.series]
    for point, (_start, want_money, want_leads) in zip(got.series, want.series, strict=True):
        assert {c: money(m) for c, m in point.money.items() if money(m) != (0,) * 5} == {
            c: money(m) for c, m in want_money.items()
        }, point.start
        assert point.leads == want_leads, point.start
    assert {(s.status, s.currency): (s.orders, s.total) for s in got.statuses} == want.statuses
    assert [((p.currency, p.name), (p.quantity, p.revenue)) for p in got.top_by_revenue] == (
        naive_top(want, "revenue")
    )
    assert [((p.currency, p.name), (p.quantity, p.revenue)) for p in got.top_by_quantity] == (
        naive_top(want, "quantity")
    )
    assert {e.event_id: e.by_day for e in got.events if any(e.by_day)} == want.leads
    assert {e.event_id: e.previous for e in got.events if e.previous} == want.previous_leads
    assert got.leads == sum(sum(v) for v in want.leads.values())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    anchor=st.sampled_from(ANCHORS),
    zone=st.sampled_from(ZONES),
    specs=st.lists(order_spec, max_size=25),
    records=st.lists(record_spec, max_size=8),
    first_offset=st.integers(-4, 2),
    days=st.integers(1, 6),
    group=st.sampled_from(GROUPS),
    compact_every=st.sampled_from([0, 1, 4]),
)
def test_every_figure_matches_a_naive_recomputation(
    shops: tuple[Shop, Shop], anchor: dt.datetime, zone: str, specs: list[dict[str, Any]],
    records: list[tuple[int, int]], first_offset: int, days: int, group: Any,
    compact_every: int,
) -> None:  # fmt: skip
    _clean(*shops)
    _build(shops, anchor, specs, records, compact_every)
    tz = ZoneInfo(zone)
    first = anchor.astimezone(tz).date() + dt.timedelta(days=first_offset)
    period = Period(first, first + dt.timedelta(days=days - 1), tz)
    _check([shops[0].project.pk], period, group)


def test_an_empty_period_is_all_zeros(shops: tuple[Shop, Shop]) -> None:
    mine, _other = shops
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 7), ZoneInfo("Europe/Moscow"))
    got = report([mine.project.pk], period)
    assert got.money == [] and got.statuses == [] and got.events == []
    assert got.top_by_revenue == [] and got.leads == 0 and got.leads_per_order is None
    assert len(got.series) == 7
    assert all(p.money == {} and p.leads == 0 for p in got.series)


def test_tallies_rebuilt_from_orders_give_the_same_report(shops: tuple[Shop, Shop]) -> None:
    mine, other = shops
    anchor = ANCHORS[3]
    for n in range(12):
        order = add_order(mine.project, anchor + dt.timedelta(hours=5 * n - 30), 1000 + n,
                          ["RUB", "EUR"][n % 2],
                          [{"name": "Tea", "price": 100, "count": n + 1}])  # fmt: skip
        if n % 3 == 0:
            change_status(order, Status.CANCELLED)
        add_record(mine.event, anchor + dt.timedelta(hours=3 * n - 20))
    # The integration page's test orders: counted neither live nor by a rebuild.
    for n in range(3):
        test = add_order(mine.project, anchor + dt.timedelta(hours=n), 500, "RUB",
                         [{"name": "Tea", "price": 500, "count": 1}], is_test=True)  # fmt: skip
        if n:
            change_status(test, Status.PAID)
    period = Period(dt.date(2026, 10, 24), dt.date(2026, 10, 26), ZoneInfo("Europe/Berlin"))
    before = report([mine.project.pk], period, "hour")
    assert tallies.rebuild([mine.project.pk]) == 12
    assert event_tallies.rebuild([mine.project.pk]) == 12
    after = report([mine.project.pk], period, "hour")
    assert after == before
    # The repeated hour of the change to winter time is two steps: 3 x 24 + 1.
    assert len(after.series) == 73
    _check([mine.project.pk], period, "hour")
    # The other tenant's tallies were not touched.
    assert other.project.pk not in set(OrderTally.objects.values_list("project_id", flat=True))


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_days_of_zones_off_by_quarter_hours_split_where_their_midnight_is(
    shops: tuple[Shop, Shop], zone: str
) -> None:
    mine, _other = shops
    tz = ZoneInfo(zone)
    midnight = dt.datetime(2026, 7, 2, tzinfo=tz).astimezone(dt.UTC)
    for minutes in (-20, -5, 5, 20):
        add_order(mine.project, midnight + dt.timedelta(minutes=minutes), 100,
                  products=[{"name": "Tea", "price": 100, "count": 1}])  # fmt: skip
    got = report([mine.project.pk], Period(dt.date(2026, 7, 1), dt.date(2026, 7, 2), tz), "day")
    assert [p.of("RUB").orders for p in got.series] == [2, 2]
    hours = report([mine.project.pk], Period(dt.date(2026, 7, 2), dt.date(2026, 7, 2), tz))
    assert hours.money[0].orders == 2 and hours.series[0].of("RUB").orders == 2
    assert hours.top_by_revenue[0].quantity == 2
    _check([mine.project.pk], Period(dt.date(2026, 7, 1), dt.date(2026, 7, 2), tz), "hour")


def test_a_half_hour_repeated_by_lord_howe_belongs_to_its_hour(shops: tuple[Shop, Shop]) -> None:
    mine, _other = shops
    tz = ZoneInfo("Australia/Lord_Howe")
    # 2026-04-05 02:00 (+11) the clocks go back to 01:30 (+10:30), at 15:00 UTC.
    add_order(mine.project, dt.datetime(2026, 4, 4, 14, 40, tzinfo=dt.UTC), 100)  # 01:40 +11
    add_order(mine.project, dt.datetime(2026, 4, 4, 15, 10, tzinfo=dt.UTC), 200)  # 01:40 +10:30
    got = report([mine.project.pk], Period(dt.date(2026, 4, 5), dt.date(2026, 4, 5), tz), "hour")
    assert [p.start.hour for p in got.series] == list(range(24))
    assert got.series[1].of("RUB").revenue == 300
    _check([mine.project.pk], Period(dt.date(2026, 4, 5), dt.date(2026, 4, 5), tz), "hour")
