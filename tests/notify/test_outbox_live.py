"""PostgreSQL's own-transaction order path (a live server, outside any test transaction):
the outbox rows are written by the same single statement as the order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from orderreport.accounts.services import set_plan
from orderreport.notify.models import Delivery, LimitWarning
from orderreport.orders.models import Order
from tests.conftest import Shop
from tests.ingest.helpers import plan_with_limit, post_together
from tests.notify.conftest import telegram_channel, webhook_channel

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_it_queues_deliveries_and_warnings_with_parallel_orders(
    live_server: Any, shop: Shop, other_shop: Shop
) -> None:
    set_plan(shop.account, plan_with_limit(10))
    hook = webhook_channel(shop, "https://example.com/hook", receives_limits=True)
    chat = telegram_channel(shop, receives_orders=False, receives_limits=True)
    webhook_channel(other_shop, "https://example.com/other", receives_limits=True)
    responses = post_together(
        live_server.url, shop, [{"id": f"o{n}", "total": 1} for n in range(15)]
    )
    assert Counter(r.status_code for r in responses) == {201: 10, 402: 5}
    orders = set(Order.objects.filter(project=shop.project).values_list("pk", flat=True))
    order_deliveries = Delivery.objects.filter(topic="order")
    assert {d.channel_id for d in order_deliveries} == {hook.pk}
    assert {d.order_id for d in order_deliveries} == orders
    assert order_deliveries.count() == 10
    warnings = LimitWarning.objects.order_by("threshold")
    assert [(w.account_id, w.threshold, w.used, w.monthly_limit) for w in warnings] == [
        (shop.account.pk, 80, 8, 10),
        (shop.account.pk, 100, 10, 10),
    ]
    limit_channels = Counter(d.channel_id for d in Delivery.objects.filter(topic="limit"))
    assert limit_channels == {None: 2, hook.pk: 2, chat.pk: 2}
