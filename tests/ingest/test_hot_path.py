"""The fast paths of POST /api/orders/track keep the contract: quota, 402 before 409, no DB
query for refused requests, and (on PostgreSQL) the one-round-trip commit outside any test
transaction, under concurrency."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orderreport.accounts.models import Plan, Usage
from orderreport.accounts.services import orders_used, set_plan
from orderreport.examples import GUIDE_ORDER
from orderreport.orders.models import Order
from tests.conftest import Api, Shop, make_shop


def order(order_id: str | int) -> dict[str, Any]:
    return {**GUIDE_ORDER, "id": order_id}


def tiny_plan(limit: int) -> Plan:
    return Plan.objects.create(name=f"tiny{limit}", title="Tiny", monthly_order_limit=limit)


def test_it_counts_each_accepted_order_once(api: Api, shop: Shop) -> None:
    assert api.order(order("a-1"), shop.key.key).status_code == 201
    assert api.order(order("a-2"), shop.key.key).status_code == 201
    assert api.order(order("a-1"), shop.key.key).status_code == 409
    assert orders_used(shop.account) == 2
    assert Order.objects.filter(project=shop.project).count() == 2


def test_it_answers_402_before_409_and_consumes_nothing(api: Api, shop: Shop) -> None:
    set_plan(shop.account, tiny_plan(1))
    assert api.order(order("b-1"), shop.key.key).status_code == 201
    again = api.order(order("b-1"), shop.key.key)
    assert again.status_code == 402
    assert again.json()["message"] == "Monthly order limit reached for this account."
    assert api.order(order("b-2"), shop.key.key).status_code == 402
    assert orders_used(shop.account) == 1
    assert list(Order.objects.values_list("external_id", flat=True)) == ["b-1"]


def test_it_refuses_every_order_on_a_zero_limit(api: Api, shop: Shop) -> None:
    set_plan(shop.account, tiny_plan(0))
    assert api.order(order("z-1"), shop.key.key).status_code == 402
    assert not Order.objects.exists()
    assert not Usage.objects.filter(used__gt=0).exists()  # nothing counted


def test_it_refuses_bad_keys_and_foreign_domains_without_a_query(api: Api, shop: Shop) -> None:
    api.order(order("warm"), shop.key.key)  # the key is now cached
    unknown = "or_" + secrets.token_urlsafe(16)
    with CaptureQueriesContext(connection) as queries:
        assert api.order(order("q-1"), unknown).status_code == 401
        assert api.order(order("q-1"), unknown).status_code == 401
        foreign = api.order(order("q-2"), shop.key.key, origin="https://evil.example")
        assert foreign.status_code == 403
        assert api.order(order("q-3"), shop.key.key, origin="null").status_code == 403
    # The first unknown key is looked up once and then cached as unknown.
    assert len(queries) == 1


def test_it_refuses_a_key_on_the_request_right_after_it_is_deactivated(
    api: Api, shop: Shop
) -> None:
    assert api.order(order("d-1"), shop.key.key).status_code == 201
    shop.key.is_active = False
    shop.key.save()
    assert api.order(order("d-2"), shop.key.key).status_code == 401


def test_it_rate_limits_per_key_on_the_fast_path(api: Api, shop: Shop, settings: Any) -> None:
    settings.RATE_LIMIT_KEY_PER_SECOND = 0.001  # no refill while the test runs, however slow
    settings.RATE_LIMIT_KEY_BURST = 3
    statuses = [api.order(order(f"r-{i}"), shop.key.key).status_code for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    refused = api.order(order("r-9"), shop.key.key)
    assert int(refused["Retry-After"]) >= 1
    assert Order.objects.filter(project=shop.project).count() == 3


# --- PostgreSQL, outside any test transaction: the path production takes ------------------


def post_in_threads(key: str, ids: list[str]) -> list[int]:
    """Send one order per id, all at once, each from its own thread and connection."""
    statuses: list[int] = [0] * len(ids)
    start = threading.Barrier(len(ids))

    def send(i: int) -> None:
        try:
            start.wait()
            response = Api(Client()).order(order(ids[i]), key)
            statuses[i] = response.status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_commits_orders_outside_a_transaction_on_postgres() -> None:
    shop = make_shop()
    api = Api(Client())
    assert not connection.in_atomic_block
    created = api.order(order("live-1"), shop.key.key)
    assert created.status_code == 201
    assert created.json() == {"message": "Order tracked", "id": "live-1"}
    assert api.order(order("live-1"), shop.key.key).status_code == 409
    assert connection.connection.info.transaction_status.name == "IDLE"
    stored = Order.objects.get(project=shop.project, external_id="live-1")
    assert stored.products == GUIDE_ORDER["products"]
    assert stored.data == GUIDE_ORDER["data"]
    assert stored.email == "john@example.com"
    assert orders_used(shop.account) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_exactly_the_limit_through_under_concurrency() -> None:
    shop = make_shop()
    set_plan(shop.account, tiny_plan(5))
    statuses = post_in_threads(shop.key.key, [f"c-{i}" for i in range(12)])
    assert sorted(statuses) == [201] * 5 + [402] * 7
    assert Order.objects.filter(project=shop.project).count() == 5
    assert orders_used(shop.account) == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_accepts_one_of_many_concurrent_copies_of_an_order() -> None:
    shop = make_shop()
    statuses = post_in_threads(shop.key.key, ["same"] * 8)
    assert sorted(statuses) == [201] + [409] * 7
    assert Order.objects.filter(project=shop.project).count() == 1
    assert orders_used(shop.account) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_402_for_a_duplicate_once_the_limit_is_reached_on_postgres() -> None:
    shop = make_shop()
    set_plan(shop.account, tiny_plan(1))
    api = Api(Client())
    assert api.order(order("p-1"), shop.key.key).status_code == 201
    assert api.order(order("p-1"), shop.key.key).status_code == 402
    assert api.order(order("p-2"), shop.key.key).status_code == 402
    assert orders_used(shop.account) == 1


def wsgi_call(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, Any, bytes]:
    """Through orderreport.wsgi.application, the entry point production serves."""
    import io

    from django.core import signals
    from django.db import close_old_connections
    from django.test.client import RequestFactory

    from orderreport.wsgi import application

    environ = RequestFactory().generic(method, path, body, "application/json", **headers).environ
    environ["wsgi.input"] = io.BytesIO(body)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *exc: Any) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = {k.lower(): v for k, v in response_headers}

    # As Django's test client does: the test's transaction keeps its connection open.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], content


def test_it_serves_the_api_through_the_short_middleware_chain(shop: Shop) -> None:
    import json

    status, headers, content = wsgi_call(
        "POST",
        "/api/orders/track",
        json.dumps(order("w-1")).encode(),
        HTTP_X_API_KEY=shop.key.key,
        HTTP_ORIGIN="https://example.com",
    )
    assert status == 201
    assert json.loads(content) == {"message": "Order tracked", "id": "w-1"}
    assert headers["access-control-allow-origin"] == "https://example.com"
    assert headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in headers  # the site's chain did not run
    assert "set-cookie" not in headers
    assert Order.objects.filter(project=shop.project, external_id="w-1").exists()


def test_it_still_checks_allowed_hosts_and_answers_json_404_on_the_api(shop: Shop) -> None:
    status, _headers, _content = wsgi_call("POST", "/api/orders/track", HTTP_HOST="evil.example")
    assert status == 400
    status, headers, content = wsgi_call("GET", "/api/nothing-here")
    assert status == 404
    assert content.startswith(b"{")
    status, headers, _content = wsgi_call("GET", "/")
    assert status == 200
    assert headers["x-frame-options"] == "DENY"  # the site keeps its full chain


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_prepares_its_statement_again_after_a_deallocate() -> None:
    shop = make_shop()
    api = Api(Client())
    assert api.order(order("x-1"), shop.key.key).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert api.order(order("x-2"), shop.key.key).status_code == 201
    assert orders_used(shop.account) == 2


def test_it_keeps_accepting_orders_when_redis_is_unreachable(
    api: Api, shop: Shop, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from orderreport.outage import cache_outage

    cache_outage.succeeded()  # an outage left open by an earlier test would not log again
    # The rate limits and the one-round-trip admission use REDIS_URL; nothing listens on port 1.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api.order(order("down-1"), shop.key.key)
    assert response.status_code == 201
    assert Order.objects.filter(project=shop.project, external_id="down-1").exists()
    assert api.order(order("down-2"), "or_" + secrets.token_urlsafe(16)).status_code == 401
    assert "cache (Redis) unavailable" in caplog.text
    cache_outage.succeeded()
