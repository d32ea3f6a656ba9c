"""GET /api/external/reports: a period's figures as JSON, per currency, for a server key.

Orders and records are seeded through the real write side (tests/reports/helpers.py), so the
tallies the figures come from are the ones production writes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from orderreport.orders.services import change_status
from orderreport.projects import services
from orderreport.projects.models import Event
from orderreport.reports.figures import MAX_DAYS, Period, report
from tests.conftest import Shop
from tests.ingest.helpers import assert_error, assert_invalid
from tests.ingest.read_helpers import get
from tests.reports.helpers import add_order, add_record

REPORTS = "/api/external/reports"
MSK = ZoneInfo("Europe/Moscow")
NEW_YORK = ZoneInfo("America/New_York")


def msk(day: int, hour: int, minute: int = 0, month: int = 5) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MSK)


@pytest.fixture
def sk(shop: Shop) -> str:
    return services.create_server_key(shop.project, "CRM")[1]


def _in_moscow(shop: Shop) -> None:
    shop.project.timezone = "Europe/Moscow"
    shop.project.save(update_fields=["timezone"])


def _seed(shop: Shop) -> Event:
    """The orders and records whose figures are worked out by hand below (Moscow, UTC+3)."""
    add_order(
        shop.project,
        msk(1, 10),
        10000,
        "RUB",
        [{"name": "Tea", "price": 3000, "count": 2}, {"name": "Cup", "price": 4000, "count": 1}],
    )
    add_order(
        shop.project, msk(1, 23, 30), 5000, "RUB", [{"name": "Tea", "price": 2500, "count": 2}]
    )
    # 21:15 UTC on May 1, but May 2 in Moscow.
    add_order(
        shop.project, msk(2, 0, 15), 2000, "USD", [{"name": "Mug", "price": 2000, "count": 1}]
    )
    cancelled = add_order(
        shop.project, msk(3, 12), 7000, "RUB", [{"name": "Tea", "price": 3500, "count": 2}]
    )
    change_status(cancelled, "cancelled", source="api")
    # The previous period (April 28-30) and the day after the period.
    add_order(
        shop.project,
        msk(30, 12, month=4),
        3000,
        "RUB",
        [{"name": "Cup", "price": 3000, "count": 1}],
    )
    add_order(shop.project, msk(4, 0), 99999, "RUB")

    callback = Event.objects.create(project=shop.project, name="Order a call", key="callback")
    for at in [msk(1, 9), msk(1, 9, 30), msk(3, 23, 59)]:
        add_record(shop.event, at)
    add_record(callback, msk(2, 15))
    add_record(shop.event, msk(29, 12, month=4))
    add_record(shop.event, msk(4, 0, 30))
    return callback


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


PERIOD = {"from": "2026-05-01", "to": "2026-05-03"}


# --- the figures -----------------------------------------------------------------------------


def test_it_answers_the_figures_worked_out_by_hand(client: Client, shop: Shop, sk: str) -> None:
    _in_moscow(shop)
    callback = _seed(shop)

    body = _ok(get(client, REPORTS, sk, PERIOD))

    assert body["period"] == {
        "from": "2026-05-01",
        "to": "2026-05-03",
        "tz": "Europe/Moscow",
        "group": "day",
        "days": 3,
        "previous": {"from": "2026-04-28", "to": "2026-04-30"},
    }
    assert body["currencies"] == [
        {
            "currency": "RUB",
            "minor_units": 2,
            "revenue": 15000,
            "orders": 2,
            "average_order_value": 7500,
            "items": 5,
            "cancelled": {"orders": 1, "total": 7000},
            "previous": {
                "revenue": 3000,
                "orders": 1,
                "average_order_value": 3000,
                "items": 1,
                "cancelled": {"orders": 0, "total": 0},
            },
            "change_percent": {
                "revenue": 400.0,
                "orders": 100.0,
                "average_order_value": 150.0,
                "items": 400.0,
            },
        },
        {
            "currency": "USD",
            "minor_units": 2,
            "revenue": 2000,
            "orders": 1,
            "average_order_value": 2000,
            "items": 1,
            "cancelled": {"orders": 0, "total": 0},
            "previous": {
                "revenue": 0,
                "orders": 0,
                "average_order_value": None,
                "items": 0,
                "cancelled": {"orders": 0, "total": 0},
            },
            "change_percent": {
                "revenue": None,
                "orders": None,
                "average_order_value": None,
                "items": None,
            },
        },
    ]
    zero = {"revenue": 0, "orders": 0, "items": 0}
    assert body["series"] == [
        {
            "start": "2026-05-01T00:00:00+03:00",
            "currencies": {"RUB": {"revenue": 15000, "orders": 2, "items": 5}, "USD": zero},
            "leads": 2,
        },
        {
            "start": "2026-05-02T00:00:00+03:00",
            "currencies": {"RUB": zero, "USD": {"revenue": 2000, "orders": 1, "items": 1}},
            "leads": 1,
        },
        {
            "start": "2026-05-03T00:00:00+03:00",
            "currencies": {"RUB": zero, "USD": zero},
            "leads": 1,
        },
    ]
    assert body["statuses"] == [
        {"status": "new", "currency": "RUB", "orders": 2, "total": 15000},
        {"status": "new", "currency": "USD", "orders": 1, "total": 2000},
        {"status": "cancelled", "currency": "RUB", "orders": 1, "total": 7000},
    ]
    tea = {"name": "Tea", "currency": "RUB", "quantity": 4, "revenue": 11000}
    cup = {"name": "Cup", "currency": "RUB", "quantity": 1, "revenue": 4000}
    mug = {"name": "Mug", "currency": "USD", "quantity": 1, "revenue": 2000}
    assert body["top_products"] == {"by_revenue": [tea, cup, mug], "by_quantity": [tea, cup, mug]}
    days = ["2026-05-01", "2026-05-02", "2026-05-03"]
    assert body["leads"] == {
        "total": 4,
        "previous": 1,
        "change_percent": 300.0,
        "per_event": [
            {
                "event": shop.event.key,
                "name": "Call-back",
                "total": 3,
                "previous": 1,
                "change_percent": 200.0,
                "by_day": [{"date": d, "leads": n} for d, n in zip(days, [2, 0, 1], strict=True)],
            },
            {
                "event": callback.key,
                "name": "Order a call",
                "total": 1,
                "previous": 0,
                "change_percent": None,
                "by_day": [{"date": d, "leads": n} for d, n in zip(days, [0, 1, 0], strict=True)],
            },
        ],
    }
    assert body["leads_per_order"] == round(4 / 3, 4)


def test_the_integration_guide_s_example_answer_is_a_real_one(
    client: Client, shop: Shop, sk: str
) -> None:
    _in_moscow(shop)
    _seed(shop)
    guide = (Path(__file__).parents[2] / "docs" / "integration.md").read_text()
    after = guide.split("The answer (`200`), here for the 3 days", 1)[1]
    example = json.loads(after.split("```json", 1)[1].split("```", 1)[0])
    example["leads"]["per_event"][0]["event"] = shop.event.key

    assert _ok(get(client, REPORTS, sk, {**PERIOD, "tz": "Europe/Moscow"})) == example


@pytest.mark.parametrize("group", ["day", "week", "month"])
def test_it_answers_what_report_computes(client: Client, shop: Shop, sk: str, group: str) -> None:
    _in_moscow(shop)
    _seed(shop)
    for n in range(12):
        at = msk(1, 7) + dt.timedelta(days=5 * n, hours=n)
        add_order(
            shop.project,
            at,
            1000 + n,
            ["RUB", "EUR"][n % 2],
            [{"name": f"P{n % 3}", "price": 10, "count": n + 1}],
        )
        add_record(shop.event, at)
    params = {"from": "2026-04-20", "to": "2026-06-30", "group": group}

    body = _ok(get(client, REPORTS, sk, params))

    figures = report(
        [shop.project.pk],
        Period(dt.date(2026, 4, 20), dt.date(2026, 6, 30), MSK),
        group,  # type: ignore[arg-type]
    )
    assert [c["currency"] for c in body["currencies"]] == figures.currencies
    for answered, money in zip(body["currencies"], figures.money, strict=True):
        assert (answered["revenue"], answered["orders"], answered["items"]) == (
            money.revenue,
            money.orders,
            money.items,
        )
        assert answered["average_order_value"] == money.average
        assert answered["cancelled"] == {
            "orders": money.cancelled_orders,
            "total": money.cancelled_total,
        }
        previous = figures.previous_of(money.currency)
        assert answered["previous"]["revenue"] == previous.revenue
        assert answered["previous"]["orders"] == previous.orders
    assert len(body["series"]) == len(figures.series)
    for step, point in zip(body["series"], figures.series, strict=True):
        assert dt.datetime.fromisoformat(step["start"]) == point.start
        assert step["leads"] == point.leads
        for currency, money in step["currencies"].items():
            assert money == {
                "revenue": point.of(currency).revenue,
                "orders": point.of(currency).orders,
                "items": point.of(currency).items,
            }
    assert [(s["status"], s["currency"], s["orders"], s["total"]) for s in body["statuses"]] == [
        (s.status, s.currency, s.orders, s.total) for s in figures.statuses
    ]
    assert [(p["name"], p["revenue"]) for p in body["top_products"]["by_revenue"]] == [
        (p.name, p.revenue) for p in figures.top_by_revenue
    ]
    assert [(p["name"], p["quantity"]) for p in body["top_products"]["by_quantity"]] == [
        (p.name, p.quantity) for p in figures.top_by_quantity
    ]
    assert body["leads"]["total"] == figures.leads
    assert body["leads"]["previous"] == figures.previous_leads
    assert [[d["leads"] for d in e["by_day"]] for e in body["leads"]["per_event"]] == [
        e.by_day for e in figures.events
    ]
    assert body["leads_per_order"] == round(figures.leads_per_order or 0, 4)


def test_weeks_start_on_monday_and_months_on_the_first(client: Client, shop: Shop, sk: str) -> None:
    _in_moscow(shop)
    params = {"from": "2026-05-06", "to": "2026-06-10"}  # a Wednesday to a Wednesday
    weeks = _ok(get(client, REPORTS, sk, {**params, "group": "week"}))["series"]
    assert [s["start"][:10] for s in weeks] == [
        "2026-05-04",
        "2026-05-11",
        "2026-05-18",
        "2026-05-25",
        "2026-06-01",
        "2026-06-08",
    ]
    months = _ok(get(client, REPORTS, sk, {**params, "group": "month"}))["series"]
    assert [s["start"] for s in months] == [
        "2026-05-01T00:00:00+03:00",
        "2026-06-01T00:00:00+03:00",
    ]


def test_a_currency_only_the_previous_period_had_is_shown_at_zero(
    client: Client, shop: Shop, sk: str
) -> None:
    _in_moscow(shop)
    add_order(shop.project, msk(30, 12, month=4), 3000, "EUR")
    body = _ok(get(client, REPORTS, sk, PERIOD))
    (eur,) = body["currencies"]
    assert (eur["currency"], eur["revenue"], eur["orders"]) == ("EUR", 0, 0)
    assert eur["previous"]["revenue"] == 3000
    assert eur["change_percent"]["revenue"] == -100.0
    assert all(
        s["currencies"] == {"EUR": {"revenue": 0, "orders": 0, "items": 0}} for s in body["series"]
    )


def test_amounts_are_in_the_currency_s_minor_units(client: Client, shop: Shop, sk: str) -> None:
    _in_moscow(shop)
    add_order(shop.project, msk(1, 12), 990, "JPY")
    add_order(shop.project, msk(1, 12), 1500, "KWD")
    body = _ok(get(client, REPORTS, sk, PERIOD))
    units = {c["currency"]: (c["minor_units"], c["revenue"]) for c in body["currencies"]}
    assert units == {"JPY": (0, 990), "KWD": (3, 1500)}


def test_an_empty_period_is_zeros_with_a_full_series(client: Client, shop: Shop, sk: str) -> None:
    body = _ok(get(client, REPORTS, sk, {"from": "2026-02-01", "to": "2026-02-07"}))
    assert body["currencies"] == []
    assert body["statuses"] == []
    assert body["top_products"] == {"by_revenue": [], "by_quantity": []}
    assert body["leads"] == {"total": 0, "previous": 0, "change_percent": None, "per_event": []}
    assert body["leads_per_order"] is None
    assert [s["start"] for s in body["series"]] == [
        f"2026-02-0{d}T00:00:00+00:00" for d in range(1, 8)
    ]
    assert all(s["currencies"] == {} and s["leads"] == 0 for s in body["series"])


# --- period, zone and group ------------------------------------------------------------------


def test_by_default_the_last_30_days_in_the_project_s_zone_by_day(
    client: Client, shop: Shop, sk: str
) -> None:
    shop.project.timezone = "Asia/Kathmandu"
    shop.project.save(update_fields=["timezone"])
    today = timezone.now().astimezone(ZoneInfo("Asia/Kathmandu")).date()
    add_order(shop.project, timezone.now(), 4200, "RUB")

    body = _ok(get(client, REPORTS, sk))

    period = body["period"]
    assert period["tz"] == "Asia/Kathmandu"
    assert period["group"] == "day"
    assert period["to"] == today.isoformat()
    assert period["from"] == (today - dt.timedelta(days=29)).isoformat()
    assert period["days"] == 30
    assert len(body["series"]) == 30
    assert body["series"][0]["start"].endswith("T00:00:00+05:45")
    assert body["currencies"][0]["revenue"] == 4200


def test_only_to_means_the_30_days_ending_then_and_only_from_ends_today(
    client: Client, shop: Shop, sk: str
) -> None:
    body = _ok(get(client, REPORTS, sk, {"to": "2026-03-30"}))
    assert (body["period"]["from"], body["period"]["to"]) == ("2026-03-01", "2026-03-30")
    today = timezone.now().date()
    start = today - dt.timedelta(days=4)
    body = _ok(get(client, REPORTS, sk, {"from": start.isoformat()}))
    assert (body["period"]["from"], body["period"]["to"]) == (start.isoformat(), today.isoformat())


def test_tz_overrides_the_project_s_zone(client: Client, shop: Shop, sk: str) -> None:
    _in_moscow(shop)
    add_order(shop.project, msk(2, 1), 1000, "RUB")  # May 1, 22:00 UTC
    in_moscow = _ok(get(client, REPORTS, sk, {"from": "2026-05-02", "to": "2026-05-02"}))
    in_utc = _ok(get(client, REPORTS, sk, {"from": "2026-05-02", "to": "2026-05-02", "tz": "UTC"}))
    assert in_moscow["currencies"][0]["orders"] == 1
    assert in_utc["period"]["tz"] == "UTC"
    (rub,) = in_utc["currencies"]
    assert (rub["orders"], rub["previous"]["orders"]) == (0, 1)  # May 1 in UTC
    assert in_utc["series"][0]["start"] == "2026-05-02T00:00:00+00:00"


def test_hours_for_up_to_two_days(client: Client, shop: Shop, sk: str) -> None:
    _in_moscow(shop)
    add_order(shop.project, msk(2, 13, 59), 1000, "RUB")
    body = _ok(
        get(client, REPORTS, sk, {"from": "2026-05-01", "to": "2026-05-02", "group": "hour"})
    )
    series = body["series"]
    assert len(series) == 48
    assert series[0]["start"] == "2026-05-01T00:00:00+03:00"
    assert series[37]["start"] == "2026-05-02T13:00:00+03:00"
    assert series[37]["currencies"]["RUB"]["orders"] == 1
    assert sum(s["currencies"]["RUB"]["orders"] for s in series) == 1


@pytest.mark.parametrize(
    ("day", "steps"),
    [("2026-03-08", 23), ("2026-11-01", 25)],  # New York's DST changes
)
def test_a_dst_change_day_has_23_or_25_hours(
    client: Client, shop: Shop, sk: str, day: str, steps: int
) -> None:
    params = {"from": day, "to": day, "tz": "America/New_York", "group": "hour"}
    series = _ok(get(client, REPORTS, sk, params))["series"]
    assert len(series) == steps
    starts = [dt.datetime.fromisoformat(s["start"]) for s in series]
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(starts))
    assert series[0]["start"] == f"{day}T00:00:00" + ("-05:00" if steps == 23 else "-04:00")


def test_an_order_in_the_repeated_hour_lands_in_its_own_step(
    client: Client, shop: Shop, sk: str
) -> None:
    # 01:30 EST, the second 01:30 of November 1, 2026 in New York.
    add_order(shop.project, dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC), 500, "USD")
    params = {"from": "2026-11-01", "to": "2026-11-01", "tz": "America/New_York", "group": "hour"}
    series = _ok(get(client, REPORTS, sk, params))["series"]
    starts = [s["start"] for s in series]
    assert starts[1:3] == ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"]
    assert [s["currencies"]["USD"]["orders"] for s in series[1:3]] == [0, 1]


def test_a_midnight_skipped_by_dst_starts_the_day_when_it_begins(
    client: Client, shop: Shop, sk: str
) -> None:
    # Havana moves its clocks from 00:00 to 01:00 on March 8, 2026.
    params = {"from": "2026-03-08", "to": "2026-03-09", "tz": "America/Havana"}
    series = _ok(get(client, REPORTS, sk, params))["series"]
    assert [s["start"] for s in series] == [
        "2026-03-08T01:00:00-04:00",
        "2026-03-09T00:00:00-04:00",
    ]


def test_the_longest_period_and_the_last_day_answer(client: Client, shop: Shop, sk: str) -> None:
    first = dt.date(2025, 1, 1)
    last = first + dt.timedelta(days=MAX_DAYS - 1)
    body = _ok(get(client, REPORTS, sk, {"from": str(first), "to": str(last), "group": "month"}))
    assert body["period"]["days"] == MAX_DAYS
    body = _ok(
        get(
            client,
            REPORTS,
            sk,
            {"from": "9998-12-30", "to": "9998-12-31", "tz": "Pacific/Kiritimati", "group": "hour"},
        )
    )
    assert len(body["series"]) == 48
    body = _ok(
        get(client, REPORTS, sk, {"from": "1970-01-01", "to": "1970-01-01", "tz": "Pacific/Niue"})
    )
    assert body["period"]["previous"] == {"from": "1969-12-31", "to": "1969-12-31"}


# --- 422 per parameter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-5-1"}, "from", "Must be a date as YYYY-MM-DD."),
        ({"from": "20260501"}, "from", "Must be a date as YYYY-MM-DD."),
        ({"from": "yesterday"}, "from", "Must be a date as YYYY-MM-DD."),
        ({"from": "2026-05-01T00:00"}, "from", "Must be a date as YYYY-MM-DD."),
        ({"to": "2026-02-30"}, "to", "Must be a date as YYYY-MM-DD."),
        ({"to": "2026-13-01"}, "to", "Must be a date as YYYY-MM-DD."),
        (
            {"to": "\u0662\u0660\u0662\u0666-\u0660\u0665-\u0660\u0661"},
            "to",
            "Must be a date as YYYY-MM-DD.",
        ),
        ({"from": "1969-12-31"}, "from", "Must be a date from 1970-01-01 to 9998-12-31."),
        ({"to": "9999-12-31"}, "to", "Must be a date from 1970-01-01 to 9998-12-31."),
        (
            {"from": "2026-05-02", "to": "2026-05-01"},
            "to",
            "Must be on or after `from`.",
        ),
        (
            {"from": "2025-01-01", "to": "2027-01-03"},
            "to",
            f"A period is at most {MAX_DAYS} days; 2025-01-01 to 2027-01-03 is 733.",
        ),
        (
            {"tz": "Mars/Olympus_Mons"},
            "tz",
            "Unknown time zone 'Mars/Olympus_Mons': use an IANA name such as Europe/Moscow or UTC.",
        ),
        ({"tz": "localtime"}, "tz", None),
        ({"tz": "../../etc/passwd"}, "tz", None),
        ({"tz": "/usr/share/zoneinfo/UTC"}, "tz", None),
        ({"tz": "Europe/Moscow\x00"}, "tz", None),
        ({"tz": "x" * 5000}, "tz", None),
        (
            {"group": "year"},
            "group",
            "Unknown group 'year'. Choose one of: hour, day, week, month.",
        ),
        ({"group": "Day"}, "group", None),
        (
            {"from": "2026-05-01", "to": "2026-05-03", "group": "hour"},
            "group",
            "`hour` is for periods of at most 2 days; use day, week or month.",
        ),
        ({"group": "hour"}, "group", None),  # the default 30 days
    ],
)
def test_a_bad_parameter_is_422_naming_it(
    client: Client, shop: Shop, sk: str, params: dict[str, str], field: str, message: str | None
) -> None:
    errors = assert_invalid(get(client, REPORTS, sk, params))
    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [message]


def test_a_from_after_today_without_to_names_from(client: Client, shop: Shop, sk: str) -> None:
    tomorrow = timezone.now().date() + dt.timedelta(days=2)
    errors = assert_invalid(get(client, REPORTS, sk, {"from": str(tomorrow), "tz": "UTC"}))
    assert list(errors) == ["from"]
    assert errors["from"][0].startswith("Must be on or before `to` (default: today, ")


def test_a_from_too_long_ago_without_to_names_from(client: Client, shop: Shop, sk: str) -> None:
    errors = assert_invalid(get(client, REPORTS, sk, {"from": "2020-01-01"}))
    assert list(errors) == ["from"]
    assert errors["from"][0].startswith(f"A period is at most {MAX_DAYS} days; 2020-01-01 to ")


def test_every_bad_parameter_is_named_at_once(client: Client, shop: Shop, sk: str) -> None:
    params = {"from": "soon", "to": "later", "tz": "Nowhere", "group": "decade"}
    errors = assert_invalid(get(client, REPORTS, sk, params))
    assert set(errors) == {"from", "to", "tz", "group"}


def test_empty_and_unknown_parameters_are_ignored(client: Client, shop: Shop, sk: str) -> None:
    body = _ok(get(client, REPORTS, sk, {"from": "", "to": "", "tz": "", "group": "", "x": "1"}))
    assert body["period"]["days"] == 30
    assert body["period"]["group"] == "day"


# --- keys, tenants and the check chain -------------------------------------------------------


def test_it_sees_only_its_own_project(
    client: Client, shop: Shop, other_shop: Shop, sk: str
) -> None:
    other_sk = services.create_server_key(other_shop.project, "CRM")[1]
    at = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    add_order(shop.project, at, 1000, "RUB", [{"name": "Mine", "price": 1000, "count": 1}])
    add_order(other_shop.project, at, 5000, "RUB", [{"name": "Theirs", "price": 5000, "count": 1}])
    add_order(other_shop.project, at, 7000, "EUR")
    add_record(shop.event, at)
    add_record(other_shop.event, at)
    add_record(other_shop.event, at)
    params = {"from": "2026-05-01", "to": "2026-05-01"}

    mine = _ok(get(client, REPORTS, sk, params))
    theirs = _ok(get(client, REPORTS, other_sk, params))

    assert [(c["currency"], c["revenue"]) for c in mine["currencies"]] == [("RUB", 1000)]
    assert [p["name"] for p in mine["top_products"]["by_revenue"]] == ["Mine"]
    assert mine["leads"]["total"] == 1
    assert [e["event"] for e in mine["leads"]["per_event"]] == [shop.event.key]
    # One order each: by currency code.
    assert [(c["currency"], c["revenue"]) for c in theirs["currencies"]] == [
        ("EUR", 7000),
        ("RUB", 5000),
    ]
    assert theirs["leads"]["total"] == 2
    assert "Mine" not in str(theirs) and "Theirs" not in str(mine)


def test_a_browser_key_can_only_track(client: Client, shop: Shop) -> None:
    add_order(shop.project, timezone.now(), 1000, "RUB")
    response = get(client, REPORTS, shop.key.key, origin=shop.origin)
    body = assert_error(response, 403, "This key can only track", "key_scope")
    assert "currencies" not in body
    assert response["Access-Control-Allow-Origin"] == shop.origin
    response = get(client, REPORTS, shop.key.key)
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


def test_a_missing_or_unknown_key_is_401(client: Client, shop: Shop) -> None:
    assert_error(get(client, REPORTS, None), 401, "API key missing", "api_key_missing")
    response = get(client, REPORTS, "sk_" + "x" * 40)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


def test_a_server_key_from_a_browser_is_403(client: Client, shop: Shop, sk: str) -> None:
    response = get(client, REPORTS, sk, origin=shop.origin, HTTP_SEC_FETCH_MODE="cors")
    assert_error(
        response,
        403,
        "Server keys belong on servers: do not use them in a browser",
        "server_key_in_browser",
    )


def test_a_server_key_with_a_foreign_origin_is_403(client: Client, shop: Shop, sk: str) -> None:
    response = get(client, REPORTS, sk, origin="https://evil.example")
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    response = get(client, REPORTS, sk, origin=shop.origin)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == shop.origin
    assert response["Vary"] == "Origin"


def test_the_cors_preflight_allows_get(client: Client) -> None:
    origin = "https://anything.example"
    response = client.options(REPORTS, HTTP_ORIGIN=origin)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "Content-Type, X-API-KEY"
    assert response["Access-Control-Max-Age"] == "86400"
    assert response["Vary"] == "Origin"


@pytest.mark.parametrize("path", [REPORTS, REPORTS + "/"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_405_with_allow(
    client: Client, shop: Shop, sk: str, path: str, method: str
) -> None:
    response = client.generic(method, path, b"{}", HTTP_X_API_KEY=sk)
    assert_error(response, 405, "Method not allowed", "method_not_allowed")
    assert response["Allow"] == "GET, OPTIONS"


def test_a_trailing_slash_is_forgiven(client: Client, shop: Shop, sk: str) -> None:
    assert get(client, REPORTS + "/", sk, PERIOD).status_code == 200


def test_the_rate_limit_applies(client: Client, shop: Shop, sk: str, settings: Any) -> None:
    settings.RATE_LIMIT_KEY_PER_SECOND = 0.001  # no refill while the test runs, however slow
    settings.RATE_LIMIT_KEY_BURST = 1
    assert get(client, REPORTS, sk, PERIOD).status_code == 200
    response = get(client, REPORTS, sk, PERIOD)
    assert_error(response, 429, "Too many requests", "rate_limited")


def test_an_unexpected_error_is_a_json_500(
    client: Client, shop: Shop, sk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderreport.ingest import reports_api

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(reports_api, "report", broken)
    assert_error(get(client, REPORTS, sk, PERIOD), 500, "Internal error", "internal_error")
