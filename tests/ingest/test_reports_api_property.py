"""Every figure the reports API answers against a naive recomputation from the orders.

Random orders (currencies, statuses, products) and event records at times around local
midnights and DST changes in several zones, for two tenants; the API is asked through HTTP
with the first tenant's server key and every number of its JSON is checked against
tests/reports/helpers.py's `naive`, which reads the orders and records one by one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderreport.events.models import EventTally
from orderreport.orders.models import Order, OrderTally, ProductTally, Status
from orderreport.orders.services import change_status
from orderreport.projects import services
from orderreport.projects.models import Event
from orderreport.reports.figures import Period
from tests.conftest import Shop, make_shop
from tests.ingest.read_helpers import get
from tests.reports.helpers import add_order, add_record, naive, naive_top

pytestmark = pytest.mark.django_db

ZONES = ["UTC", "Europe/Moscow", "America/New_York", "Asia/Kathmandu", "America/Havana"]
ANCHORS = [
    dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC),  # United States and Cuba, spring
    dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC),  # United States and Cuba, autumn
    dt.datetime(2026, 6, 30, 21, 0, tzinfo=dt.UTC),  # Moscow's midnight
]
order_spec = st.fixed_dictionaries(
    {
        "offset": st.integers(-3 * 86400, 3 * 86400),
        "currency": st.sampled_from(["RUB", "USD", "JPY"]),
        "total": st.integers(0, 10**12),
        "products": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["Tea", "Cup", "Чайник"]),
                    "price": st.integers(0, 10**6),
                    "count": st.integers(1, 20),
                }
            ),
            max_size=3,
        ),
        "status": st.sampled_from(Status.values),
        "mine": st.booleans(),
    }
)


@pytest.fixture
def tenants(db: None) -> tuple[Shop, Shop, str]:
    mine = make_shop(plan="unlimited")
    other = make_shop(domain="other.example", plan="unlimited")
    return mine, other, services.create_server_key(mine.project, "CRM")[1]


def _clean(*shops: Shop) -> None:
    ids = [s.project.pk for s in shops]
    Order.objects.filter(project_id__in=ids).delete()
    for model in (OrderTally, ProductTally, EventTally):
        model.objects.filter(project_id__in=ids).delete()
    for s in shops:
        s.project.event_records.all().delete()


def _money(m: Any) -> tuple[int, ...]:
    return (m.revenue, m.orders, m.items, m.cancelled_orders, m.cancelled_total)


def _answered(c: dict[str, Any]) -> tuple[int, ...]:
    return (
        c["revenue"],
        c["orders"],
        c["items"],
        c["cancelled"]["orders"],
        c["cancelled"]["total"],
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    anchor=st.sampled_from(ANCHORS),
    zone=st.sampled_from(ZONES),
    specs=st.lists(order_spec, max_size=15),
    records=st.lists(st.tuples(st.integers(-3 * 86400, 3 * 86400), st.booleans()), max_size=6),
    first_offset=st.integers(-3, 1),
    days=st.integers(1, 5),
    group=st.sampled_from(["hour", "day", "week", "month"]),
)
def test_every_figure_of_the_api_matches_a_naive_recomputation(
    client: Client,
    tenants: tuple[Shop, Shop, str],
    anchor: dt.datetime,
    zone: str,
    specs: list[dict[str, Any]],
    records: list[tuple[int, bool]],
    first_offset: int,
    days: int,
    group: str,
) -> None:
    mine, other, sk = tenants
    _clean(mine, other)
    quote = Event.objects.get_or_create(project=mine.project, name="Quote")[0]
    for spec in specs:
        shop = mine if spec["mine"] else other
        at = anchor + dt.timedelta(seconds=spec["offset"])
        order = add_order(shop.project, at, spec["total"], spec["currency"], spec["products"])
        if spec["status"] != Status.NEW:
            change_status(order, spec["status"], source="api")
    for offset, first_event in records:
        at = anchor + dt.timedelta(seconds=offset)
        add_record(mine.event if first_event else quote, at)
        add_record(other.event, at)
    tz = ZoneInfo(zone)
    if group == "hour":
        days = min(days, 2)
    first = anchor.astimezone(tz).date() + dt.timedelta(days=first_offset)
    period = Period(first, first + dt.timedelta(days=days - 1), tz)
    params = {"from": str(period.first), "to": str(period.last), "tz": zone, "group": group}

    response = get(client, "/api/external/reports", sk, params)

    assert response.status_code == 200, response.content
    body = response.json()
    want = naive([mine.project.pk], period, group)
    currencies = {c["currency"]: c for c in body["currencies"]}
    assert {c: _answered(a) for c, a in currencies.items() if _answered(a) != (0,) * 5} == {
        c: _money(m) for c, m in want.money.items()
    }
    assert {c: _answered(a["previous"]) for c, a in currencies.items()} == {
        c: _money(want.previous.get(c)) if c in want.previous else (0,) * 5 for c in currencies
    }
    assert set(want.previous) <= set(currencies)
    for c, answered in currencies.items():
        orders, revenue = answered["orders"], answered["revenue"]
        # Rounded half up to a whole minor unit.
        average = (2 * revenue + orders) // (2 * orders) if orders else None
        assert answered["average_order_value"] == average
        assert answered["minor_units"] == {"RUB": 2, "USD": 2, "JPY": 0}[c]
    starts = [dt.datetime.fromisoformat(s["start"]).astimezone(dt.UTC) for s in body["series"]]
    assert starts == [s for s, _m, _l in want.series]
    for step, (_start, money, leads) in zip(body["series"], want.series, strict=True):
        got = {c: (v["revenue"], v["orders"], v["items"]) for c, v in step["currencies"].items()}
        assert {c: v for c, v in got.items() if v != (0, 0, 0)} == {
            c: (m.revenue, m.orders, m.items)
            for c, m in money.items()
            if (m.revenue, m.orders, m.items) != (0, 0, 0)
        }
        assert set(step["currencies"]) == set(currencies)
        assert step["leads"] == leads
    assert {(s["status"], s["currency"]): (s["orders"], s["total"]) for s in body["statuses"]} == (
        want.statuses
    )
    by_revenue = naive_top(want, "revenue")
    by_quantity = naive_top(want, "quantity")
    top = body["top_products"]
    assert [
        ((p["currency"], p["name"]), (p["quantity"], p["revenue"])) for p in top["by_revenue"]
    ] == by_revenue
    assert [
        ((p["currency"], p["name"]), (p["quantity"], p["revenue"])) for p in top["by_quantity"]
    ] == by_quantity
    keys = {mine.event.pk: mine.event.key, quote.pk: quote.key}
    per_event = body["leads"]["per_event"]
    assert {e["event"]: [d["leads"] for d in e["by_day"]] for e in per_event if e["total"]} == {
        keys[e]: by_day for e, by_day in want.leads.items()
    }
    assert {e["event"]: e["previous"] for e in per_event if e["previous"]} == {
        keys[e]: n for e, n in want.previous_leads.items()
    }
    leads = sum(sum(v) for v in want.leads.values())
    assert body["leads"]["total"] == leads
    assert body["leads"]["previous"] == sum(want.previous_leads.values())
    orders = sum(m.orders for m in want.money.values())
    assert body["leads_per_order"] == (round(leads / orders, 4) if leads and orders else None)
