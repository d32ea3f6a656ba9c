"""Held orders under races, on both databases: a release (a plan change) while the shop keeps
sending new orders and retries of held ids keeps the quota exact and never stores an id twice.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from orderreport.accounts.models import HeldOrder
from orderreport.accounts.services import orders_used, set_plan
from orderreport.orders.models import Order
from tests.conftest import Shop
from tests.ingest.helpers import plan_with_limit, post_together

# serialized_rollback: the flush between transactional tests also deletes the seeded plans.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def change_plan_meanwhile(shop: Shop, limit: int | None) -> int:
    try:
        return set_plan(shop.account, plan_with_limit(limit))
    finally:
        connection.close()


def test_a_release_racing_new_orders_and_retries_keeps_the_quota_exact(
    live_server: Any, shop: Shop
) -> None:
    set_plan(shop.account, plan_with_limit(3))
    first = post_together(live_server.url, shop, [{"id": f"o{n}", "total": 1} for n in range(8)])
    assert Counter(r.status_code for r in first) == {201: 3, 402: 5}
    assert HeldOrder.objects.count() == 5

    # A larger plan (6) while 4 new orders and a retry of every id arrive.
    bodies = [{"id": f"n{n}", "total": 1} for n in range(4)]
    bodies += [{"id": f"o{n}", "total": 2} for n in range(8)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        released = pool.submit(change_plan_meanwhile, shop, 6)
        second = post_together(live_server.url, shop, bodies)
        released.result(timeout=60)
    assert set(Counter(r.status_code for r in second)) <= {201, 402, 409}
    stored = list(Order.objects.values_list("external_id", flat=True))
    held = list(HeldOrder.objects.values_list("external_id", flat=True))
    assert len(stored) == 6 == orders_used(shop.account)
    assert len(stored) == len(set(stored)) and not set(stored) & set(held)
    assert set(stored) | set(held) == {f"o{n}" for n in range(8)} | {f"n{n}" for n in range(4)}

    # Unlimited: everything held comes in, each id once.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(change_plan_meanwhile, shop, None).result(timeout=60)
    stored = list(Order.objects.values_list("external_id", flat=True))
    assert len(stored) == len(set(stored)) == 12 == orders_used(shop.account)
    assert not HeldOrder.objects.exists()
