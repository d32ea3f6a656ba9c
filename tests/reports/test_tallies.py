"""The tallies behind the reports: kept in step by every change, compacted without loss."""

from __future__ import annotations

import datetime as dt
import io
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from orderreport.events.models import EventTally
from orderreport.notify.worker import Worker, compact_tallies
from orderreport.orders import tallies
from orderreport.orders.models import OrderTally, ProductTally, Status
from orderreport.orders.services import change_status, delete_order, update_order
from orderreport.reports.figures import Period, report
from tests.conftest import Shop, make_shop
from tests.reports.helpers import add_order, add_record

MOSCOW = ZoneInfo("Europe/Moscow")
NOON = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)  # 12:00 in Moscow
DAY = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20), MOSCOW)
TEA = [{"name": "Tea", "price": 30000, "count": 2}]


def _revenue(project_id: int) -> dict[str, tuple[int, int, int, int]]:
    got = report([project_id], DAY)
    return {m.currency: (m.revenue, m.orders, m.items, m.cancelled_orders) for m in got.money}


@pytest.mark.django_db
def test_a_status_change_moves_an_order_between_revenue_and_cancelled(shop: Shop) -> None:
    order = add_order(shop.project, NOON, 60000, "RUB", TEA)
    add_order(shop.project, NOON, 1000, "RUB")
    assert _revenue(shop.project.pk) == {"RUB": (61000, 2, 2, 0)}
    change_status(order, Status.CANCELLED)
    assert _revenue(shop.project.pk) == {"RUB": (1000, 1, 0, 1)}
    assert report([shop.project.pk], DAY).top_by_revenue == []
    change_status(order, Status.PAID)
    assert _revenue(shop.project.pk) == {"RUB": (61000, 2, 2, 0)}
    assert [(p.name, p.quantity) for p in report([shop.project.pk], DAY).top_by_revenue] == [
        ("Tea", 2)
    ]
    # The hour's point moves with it.
    (noon,) = [p for p in report([shop.project.pk], DAY).series if p.start.hour == 12]
    assert noon.of("RUB").revenue == 61000


@pytest.mark.django_db
def test_an_update_and_a_delete_take_the_old_contribution_away(shop: Shop) -> None:
    order = add_order(shop.project, NOON, 60000, "RUB", TEA)
    update_order(shop.project.pk, order.external_id, {"total": 500, "currency": "USD"})
    assert _revenue(shop.project.pk) == {"USD": (500, 1, 2, 0)}
    delete_order(order)
    assert _revenue(shop.project.pk) == {}
    assert sum(t.orders for t in OrderTally.objects.filter(project=shop.project)) == 0


@pytest.mark.django_db
def test_deleting_in_the_dashboard_takes_orders_and_leads_out(shop: Shop, client: Client) -> None:
    record = add_record(shop.event, NOON)
    add_record(shop.event, NOON)
    order = add_order(shop.project, NOON, 700, "RUB", TEA)
    assert report([shop.project.pk], DAY).leads == 2
    client.force_login(shop.user)
    pid = shop.project.pk
    assert client.post(reverse("events:record_delete", args=[pid, record.pk])).status_code == 302
    assert client.post(reverse("orders:delete", args=[pid, order.pk])).status_code == 302
    got = report([shop.project.pk], DAY)
    assert got.leads == 1 and got.money == [] and got.top_by_revenue == []


@pytest.mark.django_db
def test_the_worker_compacts_tallies_to_one_row_per_key(shop: Shop) -> None:
    for n in range(6):
        order = add_order(shop.project, NOON + dt.timedelta(minutes=n), 100 * (n + 1), "RUB", TEA)
        if n % 2:
            change_status(order, Status.REFUNDED)
        add_record(shop.event, NOON + dt.timedelta(minutes=n))
    before = report([shop.project.pk], DAY)
    assert OrderTally.objects.count() > 2 and not OrderTally.objects.filter(compacted=True)
    Worker(poll_seconds=0.01).run(until_idle=True)
    assert report([shop.project.pk], DAY) == before
    # One row per (quarter-hour, currency, status) and per (day, currency, product).
    assert sorted(OrderTally.objects.values_list("status", "orders", "revenue")) == [
        ("new", 3, 900), ("refunded", 3, 1200)
    ]  # fmt: skip
    assert list(ProductTally.objects.values_list("name", "quantity")) == [("Tea", 6)]
    assert list(EventTally.objects.values_list("records", "compacted")) == [(6, True)]
    assert compact_tallies() == 0  # nothing left to fold


@pytest.mark.django_db
def test_compaction_drops_keys_whose_deltas_cancel_out(shop: Shop) -> None:
    order = add_order(shop.project, NOON, 100, "RUB", TEA)
    delete_order(order)
    compact_tallies()
    assert not OrderTally.objects.exists() and not ProductTally.objects.exists()


@pytest.mark.postgres
# serialized_rollback: an earlier transactional test's flush also took the seeded plans.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_compactors_and_writers_running_at_once_lose_nothing() -> None:
    """Two compactors and a writer, each on its own connection: every sum survives."""
    shop = make_shop(plan="unlimited")
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(step: object) -> None:
        try:
            while not stop.is_set():
                step()  # type: ignore[operator]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    compactors = [threading.Thread(target=run, args=(lambda: tallies.compact(5),)) for _ in "ab"]
    for thread in compactors:
        thread.start()
    try:
        for n in range(120):
            order = add_order(shop.project, NOON + dt.timedelta(minutes=n % 40), 10, "RUB", TEA)
            if n % 3 == 0:
                change_status(order, Status.CANCELLED)
    finally:
        stop.set()
        for thread in compactors:
            thread.join()
    assert not errors
    compact_tallies()
    got = report([shop.project.pk], Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20), MOSCOW))
    (rub,) = got.money
    assert (rub.orders, rub.revenue, rub.items, rub.cancelled_orders) == (80, 800, 160, 40)
    assert got.top_by_quantity[0].quantity == 160


@pytest.mark.django_db
def test_rebuild_tallies_repairs_figures_after_rows_changed_behind_the_app(shop: Shop) -> None:
    from django.core.management import CommandError, call_command

    order = add_order(shop.project, NOON, 60000, "RUB", TEA)
    add_record(shop.event, NOON)
    before = report([shop.project.pk], DAY)
    # A hand-made change in SQL, which no tally follows, and a lost tally row.
    from orderreport.orders.models import Order

    Order.objects.filter(pk=order.pk).update(status=Status.REFUNDED)
    EventTally.objects.all().delete()
    stale = report([shop.project.pk], DAY)
    assert [m.revenue for m in stale.money] == [m.revenue for m in before.money] == [60000]
    assert stale.leads == 0
    out = io.StringIO()
    call_command("rebuild_tallies", "--project", str(shop.project.pk), stdout=out)
    assert "1 orders and 1 event records" in out.getvalue()
    after = report([shop.project.pk], DAY)
    assert [(m.revenue, m.cancelled_orders) for m in after.money] == [(0, 1)]
    assert after.leads == 1
    with pytest.raises(CommandError, match="No project with id 999999"):
        call_command("rebuild_tallies", "--project", "999999")
