"""Races on PostgreSQL: the quota and duplicate ids hold under parallel requests.

The live server handles each request in its own thread with its own database connection,
so these requests really overlap in PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from orderreport.accounts.services import orders_used, set_plan
from orderreport.orders.models import Order
from tests.conftest import Shop
from tests.ingest.helpers import plan_with_limit

# serialized_rollback: the flush between transactional tests also deletes the seeded plans.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def post_all(url: str, shop: Shop, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body at once from its own thread; all start together."""
    start = threading.Barrier(len(bodies))
    headers = {"X-API-KEY": shop.key.key, "Origin": shop.origin}

    def send(body: dict[str, Any]) -> httpx.Response:
        start.wait()
        return httpx.post(f"{url}/api/orders/track", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_it_accepts_exactly_the_limit_under_a_parallel_burst(live_server: Any, shop: Shop) -> None:
    limit = 5
    set_plan(shop.account, plan_with_limit(limit))
    bodies = [{"id": f"race-{n}", "total": 100} for n in range(3 * limit)]
    responses = post_all(live_server.url, shop, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: limit, 402: 2 * limit}, statuses
    assert Order.objects.filter(project=shop.project).count() == limit
    assert orders_used(shop.account) == limit
    accepted = {r.json()["id"] for r in responses if r.status_code == 201}
    assert accepted == set(Order.objects.values_list("external_id", flat=True))


def test_it_accepts_one_of_many_parallel_duplicates(live_server: Any, shop: Shop) -> None:
    responses = post_all(live_server.url, shop, [{"id": "same", "total": 100}] * 20)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 19}, statuses
    assert Order.objects.filter(project=shop.project).count() == 1
    assert orders_used(shop.account) == 1


def test_it_keeps_the_limit_when_duplicates_and_new_ids_race(live_server: Any, shop: Shop) -> None:
    set_plan(shop.account, plan_with_limit(3))
    bodies = [{"id": f"mix-{n % 6}", "total": 100} for n in range(18)]
    responses = post_all(live_server.url, shop, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 3, statuses
    assert set(statuses) <= {201, 402, 409}
    assert Order.objects.filter(project=shop.project).count() == 3
    assert orders_used(shop.account) == 3
