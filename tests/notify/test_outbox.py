"""The outbox: deliveries written with the order or event record, or not at all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from orderreport.accounts.models import Plan, Usage
from orderreport.accounts.services import set_plan
from orderreport.events.models import EventRecord
from orderreport.examples import GUIDE_ORDER
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import OrderItem
from orderreport.ingest.sqlite import crossed_thresholds
from orderreport.notify.models import Delivery, LimitWarning
from orderreport.orders.models import Order
from orderreport.projects.models import Event
from tests.conftest import Api, Shop
from tests.ingest.helpers import order_row
from tests.notify.conftest import (
    Receiver,
    email_channel,
    place_order,
    run_worker,
    telegram_channel,
    webhook_channel,
)
from tests.notify.servers import Mailbox


def test_it_queues_one_delivery_per_channel_that_wants_orders(
    api: Api, shop: Shop, other_shop: Shop
) -> None:
    wanted = webhook_channel(shop, "https://example.com/a")
    also = telegram_channel(shop)
    webhook_channel(shop, "https://example.com/off", is_active=False)
    webhook_channel(shop, "https://example.com/events-only", receives_orders=False)
    webhook_channel(other_shop, "https://example.com/other-tenant")
    place_order(api, shop)
    order = Order.objects.get(project=shop.project)
    deliveries = Delivery.objects.order_by("channel_id")
    assert [(d.channel_id, d.order_id, d.topic, d.status) for d in deliveries] == [
        (wanted.pk, order.pk, "order", "pending"),
        (also.pk, order.pk, "order", "pending"),
    ]


def test_it_queues_nothing_for_a_duplicate_or_refused_order(api: Api, shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/a")
    place_order(api, shop)
    assert api.order(GUIDE_ORDER, shop.key.key).status_code == 409
    set_plan(shop.account, Plan.objects.create(name="zero", title="Zero", monthly_order_limit=0))
    assert api.order({**GUIDE_ORDER, "id": "x2"}, shop.key.key).status_code == 402
    assert Delivery.objects.count() == 1


def test_it_rolls_back_the_order_when_queueing_fails(api: Api, shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/a")
    # Make the outbox write fail inside the order's statement or transaction (the test's
    # transaction undoes the rename afterwards).
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {Delivery._meta.db_table} RENAME TO notify_gone")
    assert api.order(GUIDE_ORDER, shop.key.key).status_code == 503  # a database error
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE notify_gone RENAME TO {Delivery._meta.db_table}")
    assert not Order.objects.exists()
    assert not Delivery.objects.exists()


def test_it_queues_event_records_only_for_channels_that_chose_the_event(
    api: Api, shop: Shop
) -> None:
    chose = webhook_channel(shop, "https://example.com/a", receives_orders=False)
    chose.events.add(shop.event)
    other_event = Event.objects.create(project=shop.project, name="Newsletter")
    webhook_channel(shop, "https://example.com/b").events.add(other_event)
    webhook_channel(shop, "https://example.com/c")  # orders only
    off = webhook_channel(shop, "https://example.com/d", is_active=False)
    off.events.add(shop.event)
    response = api.event({"event": shop.event.key, "data": []}, shop.key.key)
    assert response.status_code == 201
    record = EventRecord.objects.get()
    delivery = Delivery.objects.get()
    assert (delivery.channel_id, delivery.event_record_id, delivery.topic) == (
        chose.pk,
        record.pk,
        "event",
    )


def test_it_rolls_back_the_event_record_when_queueing_fails(api: Api, shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/a").events.add(shop.event)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {Delivery._meta.db_table} RENAME TO notify_gone")
    assert api.event({"event": shop.event.key, "data": []}, shop.key.key).status_code == 503
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE notify_gone RENAME TO {Delivery._meta.db_table}")
    assert not EventRecord.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("used", "limit", "crossed"),
    [(8, 10, [80]), (9, 10, []), (10, 10, [100]), (1, 1, [80, 100]), (80, 100, [80]), (7, 10, [])],
)
def test_it_knows_which_threshold_an_order_crossed(
    used: int, limit: int, crossed: list[int]
) -> None:
    assert crossed_thresholds(used, limit) == crossed


def test_it_warns_once_per_period_and_threshold(shop: Shop) -> None:
    set_plan(shop.account, Plan.objects.create(name="ten", title="Ten", monthly_order_limit=10))
    start = dt.date(2026, 11, 1)
    next_start = dt.date(2026, 12, 1)
    Usage.objects.create(account=shop.account, period_start=start, used=7)
    Usage.objects.create(account=shop.account, period_start=next_start, used=7)

    def item(external_id: str, period: dt.date) -> OrderItem:
        return OrderItem(shop.key.pk, shop.account.pk, period, order_row(shop, external_id))

    # The 8th order of a period crosses 80%; the 9th crosses nothing.
    record_in_transaction([item("a", start), item("b", start)])
    record_in_transaction([item("c", next_start)])
    assert sorted(LimitWarning.objects.values_list("period_start", "threshold", "used")) == [
        (start, 80, 8),
        (next_start, 80, 8),
    ]
    # Each warning went to the owner by e-mail (no channel), once.
    assert Delivery.objects.filter(topic="limit", channel=None).count() == 2


def test_it_warns_the_owner_and_chosen_channels_at_80_and_100_percent(
    api: Api, shop: Shop, other_shop: Shop, smtp: Mailbox, receiver: Receiver
) -> None:
    set_plan(shop.account, Plan.objects.create(name="five", title="Five", monthly_order_limit=5))
    hook = webhook_channel(shop, receiver.url, receives_orders=False, receives_limits=True)
    webhook_channel(other_shop, receiver.url, receives_orders=False, receives_limits=True)
    email_channel(shop, ["boss@example.com"], ["boss@example.com"])  # orders, not limits
    for n in range(3):
        place_order(api, shop, id=f"o{n}")
    assert not LimitWarning.objects.exists()
    place_order(api, shop, id="o3")
    place_order(api, shop, id="o4")
    assert api.order({**GUIDE_ORDER, "id": "o5"}, shop.key.key).status_code == 402
    warnings = LimitWarning.objects.order_by("threshold")
    assert [(w.threshold, w.used, w.monthly_limit) for w in warnings] == [(80, 4, 5), (100, 5, 5)]
    limit_deliveries = Delivery.objects.filter(topic="limit")
    assert sorted(str(d.channel_id) for d in limit_deliveries) == sorted(
        ["None", "None", str(hook.pk), str(hook.pk)]
    )

    run_worker()
    owner_mail = [m for m in smtp.messages if "limit" in m["Subject"]]
    assert sorted(m["Subject"].split(" · ")[0].strip() for m in owner_mail) == [
        "100% of the monthly order limit used",
        "80% of the monthly order limit used",
    ]
    assert {m["To"] for m in owner_mail} == {shop.user.email}
    hooks = [r.json() for r in receiver.requests]
    assert sorted(h["limit"]["threshold_percent"] for h in hooks) == [80, 100]
    assert {h["type"] for h in hooks} == {"plan.limit_warning"}
    assert {h["project"]["id"] for h in hooks} == {shop.project.pk}
