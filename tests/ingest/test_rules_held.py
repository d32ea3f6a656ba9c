"""Rule "limit" holds the order (ingest/__init__.py), and a larger plan releases it
(ingest/held.py): the same contract on both databases, through each one's batch statement.

A held order is nowhere an order is (table, usage, tallies, outbox) until released; a retry of
its id gets 402 while there is no room, 201 once there is (the held copy taken), 409 once
recorded; a release records held orders in arrival order up to the new limit, exactly.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orderreport.accounts.models import HeldOrder, Plan
from orderreport.accounts.services import prune_held_orders, set_plan
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import Outcome
from orderreport.notify.models import Delivery
from orderreport.orders.models import Order, OrderTally
from tests.conftest import Shop
from tests.ingest.helpers import limit_to, order_item, outcomes, plan_with_limit, stored_ids, used
from tests.notify.conftest import webhook_channel

pytestmark = pytest.mark.django_db

CREATED, DUPLICATE, LIMIT = Outcome.CREATED, Outcome.DUPLICATE, Outcome.LIMIT_REACHED


def held_ids(shop: Shop) -> list[str]:
    """The shop's held order ids, in arrival order."""
    rows = HeldOrder.objects.filter(project=shop.project).order_by("received_at", "id")
    return list(rows.values_list("external_id", flat=True))


def room_for(shop: Shop, limit: int | None) -> None:
    """Change the plan's limit without a plan change: no release, only room."""
    Plan.objects.filter(pk=shop.account.plan_id).update(monthly_order_limit=limit)


def tallied_orders(shop: Shop) -> int:
    return sum(OrderTally.objects.filter(project=shop.project).values_list("orders", flat=True))


def test_an_order_over_the_limit_is_held_not_stored_counted_tallied_or_notified(
    shop: Shop,
) -> None:
    hook = webhook_channel(shop, "https://example.com/hook")
    limit_to(shop, 1)
    results = record_in_transaction([order_item(shop, f"o{n}", total=100 + n) for n in range(3)])
    assert outcomes(results) == [CREATED, LIMIT, LIMIT]
    assert stored_ids(shop) == ["o0"]
    assert held_ids(shop) == ["o1", "o2"]
    assert used(shop) == 1
    assert tallied_orders(shop) == 1
    assert Delivery.objects.filter(channel=hook, topic="order").count() == 1
    o2 = HeldOrder.objects.get(external_id="o2")
    assert (o2.total, o2.account_id, o2.period_start) == (102, shop.account.pk, used_period(shop))
    _start, end = shop.account.current_period()
    assert o2.expires_at >= dt.datetime.combine(end, dt.time(), dt.UTC) + dt.timedelta(days=30)


def used_period(shop: Shop) -> dt.date:
    return shop.account.current_period()[0]


def test_a_retry_of_a_held_id_gets_402_without_a_second_copy(shop: Shop) -> None:
    limit_to(shop, 1)
    record_in_transaction([order_item(shop, "a"), order_item(shop, "b", total=1)])
    batch = [order_item(shop, "b", total=2), order_item(shop, "b", total=3)]
    assert outcomes(record_in_transaction(batch)) == [LIMIT, LIMIT]
    # The first copy is kept: it is the one that arrived first.
    assert list(HeldOrder.objects.values_list("external_id", "total")) == [("b", 1)]


def test_the_same_id_twice_in_one_batch_over_the_limit_is_held_once(shop: Shop) -> None:
    limit_to(shop, 0)
    batch = [order_item(shop, "x", total=1), order_item(shop, "x", total=2)]
    assert outcomes(record_in_transaction(batch)) == [LIMIT, LIMIT]
    assert list(HeldOrder.objects.values_list("external_id", "total")) == [("x", 1)]


def test_a_retry_of_a_held_id_is_recorded_once_there_is_room_and_409_after(shop: Shop) -> None:
    limit_to(shop, 1)
    record_in_transaction([order_item(shop, "a"), order_item(shop, "b", total=1)])
    room_for(shop, 3)  # 402 comes before 409: the last retry needs room to be told 409
    # The retry's own payload is stored; the held copy is taken, not duplicated.
    assert outcomes(record_in_transaction([order_item(shop, "b", total=2)])) == [CREATED]
    assert held_ids(shop) == []
    assert Order.objects.get(external_id="b").total == 2
    assert outcomes(record_in_transaction([order_item(shop, "b", total=3)])) == [DUPLICATE]
    assert (used(shop), Order.objects.count(), HeldOrder.objects.count()) == (2, 2, 0)


def test_an_id_already_recorded_is_not_held_when_the_limit_refuses_it(shop: Shop) -> None:
    limit_to(shop, 1)
    record_in_transaction([order_item(shop, "a")])
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [LIMIT]
    assert held_ids(shop) == []


def test_a_copy_held_in_a_full_period_is_taken_by_a_later_copy_stored_in_the_batch(
    shop: Shop,
) -> None:
    limit_to(shop, 1)
    start = used_period(shop)
    earlier = start - dt.timedelta(days=40)
    record_in_transaction([order_item(shop, "p", earlier)])
    batch = [order_item(shop, "a", earlier), order_item(shop, "a")]
    assert outcomes(record_in_transaction(batch)) == [LIMIT, CREATED]
    assert stored_ids(shop) == ["a", "p"]
    assert held_ids(shop) == []


def test_an_order_refused_for_its_key_is_not_held(shop: Shop) -> None:
    limit_to(shop, 0)
    shop.key.is_active = False
    shop.key.save()
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [Outcome.KEY_GONE]
    assert held_ids(shop) == []


# --- Release on a plan change ----------------------------------------------------------------


def test_a_larger_plan_releases_held_orders_up_to_its_limit_exactly(shop: Shop) -> None:
    limit_to(shop, 3)
    results = record_in_transaction([order_item(shop, f"o{n}") for n in range(5)])
    assert outcomes(results) == [CREATED] * 3 + [LIMIT] * 2
    assert (stored_ids(shop), held_ids(shop), used(shop)) == (["o0", "o1", "o2"], ["o3", "o4"], 3)

    assert set_plan(shop.account, plan_with_limit(4)) == 1
    assert (stored_ids(shop), held_ids(shop), used(shop)) == (["o0", "o1", "o2", "o3"], ["o4"], 4)
    # Still full: a new order is held behind the one left.
    assert outcomes(record_in_transaction([order_item(shop, "o5")])) == [LIMIT]

    assert set_plan(shop.account, plan_with_limit(None)) == 2
    assert stored_ids(shop) == [f"o{n}" for n in range(6)]
    assert (held_ids(shop), used(shop), tallied_orders(shop)) == ([], 6, 6)


def test_a_release_follows_arrival_order(shop: Shop) -> None:
    limit_to(shop, 0)
    now = timezone.now()
    for name, minutes_ago in (("late", 1), ("early", 5), ("middle", 3)):
        at = now - dt.timedelta(minutes=minutes_ago)
        record_in_transaction([order_item(shop, name, received_at=at)])
    assert held_ids(shop) == ["early", "middle", "late"]
    assert set_plan(shop.account, plan_with_limit(2)) == 2
    assert (stored_ids(shop), held_ids(shop)) == (["early", "middle"], ["late"])


def test_a_released_order_is_notified_and_counted_as_if_just_tracked(shop: Shop) -> None:
    hook = webhook_channel(shop, "https://example.com/hook")
    limit_to(shop, 0)
    arrived = timezone.now() - dt.timedelta(hours=2)
    item = order_item(shop, "a", total=4200, received_at=arrived, email="a@example.com")
    record_in_transaction([item])
    assert not Delivery.objects.filter(channel=hook).exists()
    # The key that sent it may be gone since: the account admits a released order.
    shop.key.is_active = False
    shop.key.save()

    before = timezone.now()
    assert set_plan(shop.account, plan_with_limit(5)) == 1
    released = Order.objects.get(external_id="a")
    assert (released.total, released.email, released.origin) == (4200, "a@example.com",
                                                                 item.row.origin)  # fmt: skip
    assert released.received_at >= before  # the release time, in the current period
    assert Delivery.objects.filter(channel=hook, topic="order", order=released).count() == 1
    assert (used(shop), tallied_orders(shop)) == (1, 1)


def test_a_retry_after_a_release_is_a_duplicate(shop: Shop) -> None:
    limit_to(shop, 0)
    record_in_transaction([order_item(shop, "a")])
    set_plan(shop.account, plan_with_limit(1))
    # Full again: 402 before 409, and the recorded id is not held a second time.
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [LIMIT]
    set_plan(shop.account, plan_with_limit(2))
    assert outcomes(record_in_transaction([order_item(shop, "a")])) == [DUPLICATE]
    assert (stored_ids(shop), held_ids(shop), used(shop)) == (["a"], [], 1)


def test_a_held_order_recorded_meanwhile_is_dropped_not_released_twice(shop: Shop) -> None:
    limit_to(shop, 1)
    record_in_transaction([order_item(shop, "a"), order_item(shop, "b")])
    # Written without the rules (a shell, a data import): the held copy is now a duplicate.
    HeldOrder.objects.filter(external_id="b").update(external_id="a")
    HeldOrder.objects.create(**{
        **{f.attname: getattr(HeldOrder.objects.get(), f.attname)
           for f in HeldOrder._meta.concrete_fields if f.attname != "id"},
        "external_id": "c",
    })  # fmt: skip
    assert set_plan(shop.account, plan_with_limit(None)) == 1
    assert (stored_ids(shop), held_ids(shop), used(shop)) == (["a", "c"], [], 2)


def test_expired_held_orders_are_never_released_and_are_pruned(shop: Shop) -> None:
    limit_to(shop, 0)
    record_in_transaction([order_item(shop, "old"), order_item(shop, "new")])
    now = timezone.now()
    HeldOrder.objects.filter(external_id="old").update(expires_at=now - dt.timedelta(seconds=1))
    assert set_plan(shop.account, plan_with_limit(None)) == 1
    assert (stored_ids(shop), held_ids(shop)) == (["new"], ["old"])
    assert prune_held_orders(now) == 1
    assert held_ids(shop) == []


def test_a_smaller_plan_releases_nothing(shop: Shop) -> None:
    limit_to(shop, 2)
    record_in_transaction([order_item(shop, f"o{n}") for n in range(3)])
    assert set_plan(shop.account, plan_with_limit(1)) == 0
    assert (stored_ids(shop), held_ids(shop), used(shop)) == (["o0", "o1"], ["o2"], 2)
