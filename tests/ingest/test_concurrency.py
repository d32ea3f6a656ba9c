"""Races on both databases: the quota and duplicate ids hold under parallel requests.

The live server handles each request in its own thread, so these requests really overlap;
they meet in the process's batch writer (ingest/writer.py), which records them in batches on
PostgreSQL and on SQLite alike.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from orderreport.accounts.services import orders_used, set_plan
from orderreport.orders.models import Order
from tests.conftest import Shop
from tests.ingest.helpers import plan_with_limit, post_together

# serialized_rollback: the flush between transactional tests also deletes the seeded plans.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_it_accepts_exactly_the_limit_under_a_parallel_burst(live_server: Any, shop: Shop) -> None:
    limit = 5
    set_plan(shop.account, plan_with_limit(limit))
    bodies = [{"id": f"race-{n}", "total": 100} for n in range(3 * limit)]
    responses = post_together(live_server.url, shop, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: limit, 402: 2 * limit}, statuses
    assert Order.objects.filter(project=shop.project).count() == limit
    assert orders_used(shop.account) == limit
    accepted = {r.json()["id"] for r in responses if r.status_code == 201}
    assert accepted == set(Order.objects.values_list("external_id", flat=True))


def test_it_accepts_one_of_many_parallel_duplicates(live_server: Any, shop: Shop) -> None:
    responses = post_together(live_server.url, shop, [{"id": "same", "total": 100}] * 20)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 19}, statuses
    assert Order.objects.filter(project=shop.project).count() == 1
    assert orders_used(shop.account) == 1


def test_it_keeps_the_limit_when_duplicates_and_new_ids_race(live_server: Any, shop: Shop) -> None:
    set_plan(shop.account, plan_with_limit(3))
    bodies = [{"id": f"mix-{n % 6}", "total": 100} for n in range(18)]
    responses = post_together(live_server.url, shop, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 3, statuses
    assert set(statuses) <= {201, 402, 409}
    assert Order.objects.filter(project=shop.project).count() == 3
    assert orders_used(shop.account) == 3
