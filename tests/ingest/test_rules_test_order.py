"""The integration page's test order (ingest/__init__.py, projects/testmark.py), on both
databases: flagged only with the dashboard's mark, never counted against the plan nor held,
in no report or tally for its whole life, and still notified.

The rules run through `record_in_transaction` (each database's own batch statement) and
through the API as production serves it; the page's button itself, against a running server:
tests/projects/test_integration.py.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client

from orderreport.accounts.models import HeldOrder
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import OrderItem, Outcome
from orderreport.notify import digest
from orderreport.notify.models import Delivery, LimitWarning
from orderreport.orders.models import Order, OrderTally, ProductTally, Status
from orderreport.orders.services import change_status, delete_order, update_order
from orderreport.projects import services, testmark
from orderreport.reports.figures import Period, report
from tests.conftest import Api, Shop
from tests.ingest.helpers import limit_to, order, order_item, outcomes, used
from tests.ingest.read_helpers import get
from tests.notify.conftest import webhook_channel
from tests.reports.helpers import add_order

CREATED, LIMIT = Outcome.CREATED, Outcome.LIMIT_REACHED
MOSCOW = ZoneInfo("Europe/Moscow")
DAY = dt.date(2026, 11, 20)
# 01:00 in Moscow on DAY is 22:00 UTC the day before: a partial UTC day of DAY's report,
# whose products are summed from the orders themselves, not from the tallies.
EARLY = dt.datetime(2026, 11, 20, 1, 0, tzinfo=MOSCOW)
NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=MOSCOW)
TEA = [{"name": "Tea", "price": 30000, "count": 2}]


def marked(shop: Shop, external_id: str, **fields: Any) -> OrderItem:
    """The dashboard's test order (the write side's flag, as the mark sets it)."""
    return order_item(shop, external_id, is_test=True, **fields)


def flags(shop: Shop) -> dict[str, bool]:
    return dict(Order.objects.filter(project=shop.project).values_list("external_id", "is_test"))


def tally_sums(shop: Shop) -> tuple[dict[Any, tuple[int, ...]], dict[Any, tuple[int, ...]]]:
    """The project's order and product tallies summed per key (zero sums left out)."""
    orders: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
    for slot, currency, status, n, revenue, items in OrderTally.objects.filter(
        project=shop.project
    ).values_list("slot", "currency", "status", "orders", "revenue", "items"):
        acc = orders[slot, currency, status]
        for i, value in enumerate((n, revenue, items)):
            acc[i] += int(value)
    products: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for day, currency, name, quantity, revenue in ProductTally.objects.filter(
        project=shop.project
    ).values_list("day", "currency", "name", "quantity", "revenue"):
        acc = products[day, currency, name]
        acc[0] += int(quantity)
        acc[1] += int(revenue)
    return (
        {k: tuple(v) for k, v in orders.items() if any(v)},
        {k: tuple(v) for k, v in products.items() if any(v)},
    )


# --- The rules ------------------------------------------------------------------------------


def test_a_test_order_is_stored_flagged_and_takes_no_quota(shop: Shop) -> None:
    limit_to(shop, 5)
    results = record_in_transaction(
        [order_item(shop, "real-1"), marked(shop, "test-1"), order_item(shop, "real-2")]
    )
    assert outcomes(results) == [CREATED] * 3
    assert flags(shop) == {"real-1": False, "test-1": True, "real-2": False}
    assert used(shop) == 2


def test_a_test_order_is_recorded_over_the_limit_and_never_held(shop: Shop) -> None:
    limit_to(shop, 2)
    # In one batch: the test order takes no unit of the quota before the real ones.
    first = record_in_transaction(
        [marked(shop, "test-1"), order_item(shop, "real-1"), order_item(shop, "real-2"),
         order_item(shop, "real-3")]
    )  # fmt: skip
    assert outcomes(first) == [CREATED, CREATED, CREATED, LIMIT]
    # The account is over its limit now: a test order still goes in, a real one does not.
    then = record_in_transaction([marked(shop, "test-2"), order_item(shop, "real-4")])
    assert outcomes(then) == [CREATED, LIMIT]
    assert used(shop) == 2
    assert flags(shop) == {"test-1": True, "real-1": False, "real-2": False, "test-2": True}
    held = HeldOrder.objects.order_by("external_id").values_list("external_id", flat=True)
    assert list(held) == ["real-3", "real-4"]


def test_test_orders_cross_no_limit_warning(shop: Shop) -> None:
    limit_to(shop, 2)
    results = record_in_transaction([marked(shop, f"test-{n}") for n in range(4)])
    assert outcomes(results) == [CREATED] * 4
    assert used(shop) == 0
    assert not LimitWarning.objects.exists()


def test_a_test_order_is_notified_but_not_tallied(shop: Shop) -> None:
    channel = webhook_channel(shop, "https://hooks.example.com/orders")
    (result,) = record_in_transaction([marked(shop, "test-1", products=TEA)])
    assert result.created
    delivery = Delivery.objects.get()
    assert (delivery.order_id, delivery.channel_id) == (result.record_id, channel.pk)
    assert tally_sums(shop) == ({}, {})


# --- Its later life: changes, deletes, rebuilds, reports -------------------------------------


def test_its_changes_and_its_delete_leave_the_tallies_alone(shop: Shop) -> None:
    add_order(shop.project, NOON, 60000, "RUB", TEA)
    live = tally_sums(shop)
    assert live[0] and live[1]
    test = add_order(shop.project, NOON, 60000, "RUB", TEA, is_test=True)
    assert tally_sums(shop) == live
    change_status(test, Status.PAID)
    assert tally_sums(shop) == live
    update_order(shop.project.pk, test.external_id,
                 {"total": 5, "currency": "USD", "products": [{"name": "Cup", "price": 5,
                                                                "count": 1}]},
                 status=Status.CANCELLED)  # fmt: skip
    assert tally_sums(shop) == live
    change_status(test, Status.NEW)
    delete_order(test)
    assert tally_sums(shop) == live


def test_rebuild_tallies_gives_what_the_live_tallies_hold(shop: Shop) -> None:
    for n in range(3):
        add_order(shop.project, NOON + dt.timedelta(minutes=20 * n), 1000 + n, "RUB", TEA)
        test = add_order(shop.project, NOON + dt.timedelta(minutes=20 * n), 500, "RUB", TEA,
                         is_test=True)  # fmt: skip
        change_status(test, [Status.PAID, Status.CANCELLED, Status.NEW][n])
    live = tally_sums(shop)
    out = io.StringIO()
    call_command("rebuild_tallies", "--project", str(shop.project.pk), stdout=out)
    assert "tallies rebuilt from 3 orders" in out.getvalue()
    assert tally_sums(shop) == live


def _overview_words(client: Client, shop: Shop) -> str:
    response = client.get(f"/projects/{shop.project.pk}/?start={DAY}&end={DAY}")
    assert response.status_code == 200
    html = re.sub(r"<[^>]+>", " ", response.content.decode()).replace("\xa0", " ")
    return re.sub(r"\s+", " ", html)


def test_reports_the_api_and_the_summary_do_not_see_test_orders(client: Client, shop: Shop) -> None:
    shop.project.timezone = "Europe/Moscow"
    shop.project.save()
    sk = services.create_server_key(shop.project, "CRM")[1]
    client.force_login(shop.user)
    add_order(shop.project, EARLY, 60000, "RUB", TEA)
    add_order(shop.project, NOON, 1000, "RUB")

    def seen() -> tuple[Any, ...]:
        api = get(client, "/api/external/reports", sk, {"from": str(DAY), "to": str(DAY)})
        assert api.status_code == 200
        figures = report([shop.project.pk], Period(DAY, DAY, MOSCOW))
        return figures, api.json(), digest.figures(shop.project, DAY), _overview_words(client, shop)

    before = seen()
    assert before[0].top_by_revenue[0].name == "Tea"
    early = add_order(shop.project, EARLY, 90000, "RUB", [{"name": "Tea", "price": 1, "count": 9}],
                      is_test=True)  # fmt: skip
    noon = add_order(shop.project, NOON, 7000, "USD", TEA, is_test=True)
    assert seen() == before
    change_status(early, Status.PAID)
    change_status(noon, Status.CANCELLED)
    assert seen() == before
    delete_order(noon)
    assert seen() == before


# --- Through the API: only the dashboard's mark makes a test order ----------------------------


def test_the_dashboards_mark_makes_a_test_order(api: Api, shop: Shop) -> None:
    mark = testmark.mark(shop.project.pk, "test-1")
    response = api.order(order("test-1"), shop.key.key, HTTP_X_ORDERREPORT_TEST=mark)
    assert response.status_code == 201, response.content
    assert flags(shop) == {"test-1": True}
    assert used(shop) == 0


def test_a_forged_or_borrowed_mark_makes_an_ordinary_order(
    api: Api, shop: Shop, other_shop: Shop
) -> None:
    marks = {
        "forged": "OwLCsyr3uSe8C6uc_J6ZF2O7swM9WxFSp7lW414Uhsg",
        "another-order": testmark.mark(shop.project.pk, "test-0"),
        "another-project": testmark.mark(other_shop.project.pk, "another-project"),
        "blank": " ",
    }
    for order_id, mark in marks.items():
        response = api.order(order(order_id), shop.key.key, HTTP_X_ORDERREPORT_TEST=mark)
        assert response.status_code == 201, response.content
    assert flags(shop) == dict.fromkeys(marks, False)
    assert used(shop) == len(marks)


def test_over_the_limit_a_test_order_gets_201_and_a_real_one_402(api: Api, shop: Shop) -> None:
    limit_to(shop, 1)
    assert api.order(order("real-1"), shop.key.key).status_code == 201
    assert api.order(order("real-2"), shop.key.key).status_code == 402
    mark = testmark.mark(shop.project.pk, "test-1")
    response = api.order(order("test-1"), shop.key.key, HTTP_X_ORDERREPORT_TEST=mark)
    assert response.status_code == 201, response.content
    assert response.json() == {"message": "Order tracked", "id": "test-1"}
    assert api.order(order("real-3"), shop.key.key).status_code == 402
    assert used(shop) == 1
    assert flags(shop) == {"real-1": False, "test-1": True}


@pytest.mark.parametrize("retried", [False, True])
def test_a_test_order_sent_twice_is_a_duplicate(api: Api, shop: Shop, retried: bool) -> None:
    mark = testmark.mark(shop.project.pk, "test-1")
    assert api.order(order("test-1"), shop.key.key, HTTP_X_ORDERREPORT_TEST=mark).status_code == 201
    # Without the mark, or with it: the id is taken either way.
    again = {"HTTP_X_ORDERREPORT_TEST": mark} if retried else {}
    assert api.order(order("test-1"), shop.key.key, **again).status_code == 409
    assert flags(shop) == {"test-1": True}
