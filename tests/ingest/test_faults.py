"""Fault injection on PostgreSQL: the batch writer's connection loses the answer to its COMMIT,
and tables the writer needs are locked for long (a migration, VACUUM FULL).

Everything runs against the real servers on loopback: the lost answer through a small TCP
proxy in front of PostgreSQL (tests/ingest/tcp_proxy.py), the locks from a second connection.
Timing assertions are generous upper bounds that prove a wait is bounded, never speeds.
Request-thread faults (a killed connection, Redis down) and SIGTERM: test_faults_server.py.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from django.db import connection, connections
from django.utils import timezone

from orderreport.accounts.services import orders_used, set_plan
from orderreport.events.models import EventRecord
from orderreport.ingest import record
from orderreport.ingest.rows import Item, OrderItem
from orderreport.ingest.writer import BatchWriter, stop_writers, writer_for
from orderreport.notify.models import Channel, Delivery, LimitWarning
from orderreport.orders.models import Order, StatusChange
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error, plan_with_limit
from tests.ingest.tcp_proxy import TcpProxy
from tests.notify.conftest import telegram_channel, webhook_channel

# serialized_rollback: the flush between transactional tests also deletes the seeded plans.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Only the batch statement carries this: the answer lost is the one to the batch's COMMIT.
BATCH_MARKER = b"pg_current_xact_id"


def lane(name: str) -> BatchWriter:
    return writer_for(name, record.backend)


def raw_connect() -> psycopg.Connection[Any]:
    """A connection of the test's own, beside Django's (it holds the locks)."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        connect_timeout=5,
    )


@pytest.fixture
def fresh_writers() -> Iterator[None]:
    """Writers that start (connect, prepare) inside the test, with its settings."""
    stop_writers()
    yield
    stop_writers()  # the next test's writers start again with their own settings


@pytest.fixture
def proxy(fresh_writers: None) -> Iterator[TcpProxy]:
    """Every connection opened from here on reaches PostgreSQL through the proxy.

    Django creates each thread's connection wrapper from connections.settings, and the wrapper
    keeps that very dict as its settings_dict: changing HOST/PORT there reaches the writer's
    next connection (and leaves this thread's open one alone).
    """
    db = connections.settings["default"]
    assert db is connection.settings_dict
    host, port = db["HOST"], db["PORT"]
    connection.ensure_connection()  # the test's own queries stay on their direct connection
    tcp = TcpProxy((host or "127.0.0.1", int(port or 5432)))
    db["HOST"], db["PORT"] = tcp.host, str(tcp.port)
    try:
        yield tcp
    finally:
        for name in ("orders", "events"):
            lane(name).before_batch = None
        stop_writers()
        db["HOST"], db["PORT"] = host, port
        tcp.close()


def lose_the_answer_to(
    proxy: TcpProxy, writer: BatchWriter, wanted: Callable[[Item], bool]
) -> None:
    """Arm the proxy when the writer takes a batch holding a wanted item (once)."""

    def before(items: list[Item]) -> None:
        if any(wanted(i) for i in items) and not proxy.dropped and not proxy.armed:
            proxy.arm(BATCH_MARKER)

    writer.before_batch = before


def is_order(external_id: str) -> Callable[[Item], bool]:
    return lambda i: isinstance(i, OrderItem) and i.row.external_id == external_id


def order_channels(shop: Shop) -> list[Channel]:
    return [
        webhook_channel(shop, "https://example.com/hook"),
        telegram_channel(shop),
    ]


def event_channels(shop: Shop) -> list[Channel]:
    channels = [
        webhook_channel(shop, "https://example.com/events", receives_orders=False),
        telegram_channel(shop, receives_orders=False),
    ]
    for channel in channels:
        channel.events.add(shop.event)
    return channels


def retried_after_a_lost_connection(caplog: pytest.LogCaptureFixture, lane_name: str) -> bool:
    return any(
        r.name == "orderreport.ingest.writer"
        and f"{lane_name} batch of" in r.getMessage()
        and "connection lost" in r.getMessage()
        for r in caplog.records
    )


# --- 1. The connection drops after COMMIT -----------------------------------------------------


def test_an_order_whose_commit_answer_is_lost_is_answered_201_and_stored_once(
    api: Api, shop: Shop, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    channels = order_channels(shop)
    lose_the_answer_to(proxy, lane("orders"), is_order("lost-1"))
    response = api.order({"id": "lost-1", "total": 100}, shop.key.key)
    assert proxy.dropped == 1  # the answer to the batch's COMMIT really was lost
    assert retried_after_a_lost_connection(caplog, "orders")
    assert response.status_code == 201, response.content  # not 409, 402 or 503
    stored = Order.objects.get(project=shop.project)
    assert stored.external_id == "lost-1"
    assert orders_used(shop.account) == 1
    deliveries = Counter(Delivery.objects.filter(topic="order").values_list("channel", "order"))
    assert deliveries == {(c.pk, stored.pk): 1 for c in channels}
    # The writer goes on normally on its new connection.
    assert api.order({"id": "after", "total": 100}, shop.key.key).status_code == 201
    assert orders_used(shop.account) == 2


def test_the_order_taking_the_last_unit_of_quota_survives_a_lost_commit_answer(
    api: Api, shop: Shop, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    set_plan(shop.account, plan_with_limit(2))
    channels = order_channels(shop)
    assert api.order({"id": "first", "total": 100}, shop.key.key).status_code == 201
    lose_the_answer_to(proxy, lane("orders"), is_order("last"))
    response = api.order({"id": "last", "total": 100}, shop.key.key)
    assert proxy.dropped == 1
    assert retried_after_a_lost_connection(caplog, "orders")
    # Its own commit used the last unit: the retry must recognise the row, not see the limit.
    assert response.status_code == 201, response.content
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["first", "last"]
    assert orders_used(shop.account) == 2
    last = Order.objects.get(external_id="last")
    assert Delivery.objects.filter(topic="order", order=last).count() == len(channels)
    # Each threshold (80%, 100%) warned once, not once per attempt.
    warnings = LimitWarning.objects.filter(account=shop.account)
    assert sorted(w.threshold for w in warnings) == [80, 100]
    assert api.order({"id": "over", "total": 100}, shop.key.key).status_code == 402


def test_an_event_whose_commit_answer_is_lost_is_answered_201_and_stored_once(
    api: Api, shop: Shop, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    channels = event_channels(shop)
    lose_the_answer_to(proxy, lane("events"), lambda i: not isinstance(i, OrderItem))
    response = api.event({"event": shop.event.key, "data": []}, shop.key.key)
    assert proxy.dropped == 1
    assert retried_after_a_lost_connection(caplog, "events")
    assert response.status_code == 201, response.content
    stored = EventRecord.objects.get(project=shop.project)
    assert response.json()["id"] == str(stored.pk)
    deliveries = Counter(
        Delivery.objects.filter(topic="event").values_list("channel", "event_record")
    )
    assert deliveries == {(c.pk, stored.pk): 1 for c in channels}


# --- 2. A table locked for long (a migration, VACUUM FULL) ------------------------------------

LOCK_HELD_SECONDS = 8.0  # the lock's holder gives up after this, whatever the test does
WAIT_SECONDS = 2.0


@pytest.fixture
def short_timeouts(settings: Any, fresh_writers: None) -> None:
    settings.INGEST_WAIT_SECONDS = WAIT_SECONDS
    settings.INGEST_LOCK_TIMEOUT_MS = 300
    settings.INGEST_STATEMENT_TIMEOUT_MS = 1000


@contextlib.contextmanager
def table_locked(table: str) -> Iterator[None]:
    """Hold ACCESS EXCLUSIVE on `table` from another connection, at most LOCK_HELD_SECONDS."""
    holder = raw_connect()
    try:
        holder.execute(f"SET idle_in_transaction_session_timeout = {int(LOCK_HELD_SECONDS * 1000)}")
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # opens a transaction
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            holder.rollback()
        holder.close()


@pytest.fixture
def writer_errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each failed batch met (the outage log shows only the first of an outage)."""
    from orderreport.ingest import writer

    seen: list[str] = []
    failed = writer.outage.failed

    def note(what: str, exc: BaseException | None = None) -> None:
        cause = exc.__cause__ if exc is not None and exc.__cause__ is not None else exc
        seen.append(f"{what}: {type(cause).__name__}: {cause}")
        failed(what, exc)

    monkeypatch.setattr(writer.outage, "failed", note)
    return seen


def timed_post(url: str, path: str, shop: Shop, body: dict[str, Any]) -> tuple[Any, float]:
    """(the response, seconds it took); the response is the exception if there was none."""
    start = time.monotonic()
    try:
        response: Any = httpx.post(
            f"{url}{path}",
            json=body,
            headers={"X-API-KEY": shop.key.key, "Origin": shop.origin},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        response = exc
    return response, time.monotonic() - start


def assert_unavailable(response: Any, seconds: float) -> None:
    assert isinstance(response, httpx.Response), response
    assert response.status_code == 503, (response.status_code, response.content)
    assert response.json()["code"] == "unavailable"
    # Bounded: the lock's holder keeps it for LOCK_HELD_SECONDS.
    assert seconds < WAIT_SECONDS + 2, seconds


def post_many(url: str, requests: list[tuple[str, Shop, dict[str, Any]]]) -> list[Any]:
    """Send all at once; [(response or exception, seconds)] in the same order."""
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(timed_post, url, path, s, body) for path, s, body in requests]
        return [f.result() for f in futures]


def event_body(shop: Shop) -> dict[str, Any]:
    return {"event": shop.event.key, "data": []}


def warm_up(url: str, *shops: Shop) -> None:
    """Cache the keys (a miss would read other tables) and start the writers."""
    for s in shops:
        response, _ = timed_post(url, "/api/events/track", s, event_body(s))
        assert response.status_code == 201, response.content
        response, _ = timed_post(url, "/api/orders/track", s, {"id": "warm", "total": 1})
        assert response.status_code == 201, response.content


def test_orders_get_a_bounded_503_while_the_order_table_is_locked_then_201(
    live_server: Any, shop: Shop, other_shop: Shop, short_timeouts: None
) -> None:
    url = live_server.url
    warm_up(url, shop, other_shop)
    stop_writers()  # a fresh writer: its PREPARE and ANALYZE run under the lock below
    orders = [("/api/orders/track", shop, {"id": f"locked-{n}", "total": 1}) for n in range(4)]
    orders.append(("/api/orders/track", other_shop, {"id": "locked-x", "total": 1}))
    with table_locked(Order._meta.db_table):
        with ThreadPoolExecutor(max_workers=1) as pool:
            health = pool.submit(httpx.get, f"{url}/healthz", timeout=30)
            for response, seconds in post_many(url, orders):
                assert_unavailable(response, seconds)
            assert health.result().status_code == 200
        # Each was refused, not left running: a second round is refused as quickly.
        for response, seconds in post_many(url, orders[:2]):
            assert_unavailable(response, seconds)
    assert set(Order.objects.values_list("external_id", flat=True)) == {"warm"}
    assert orders_used(shop.account) == orders_used(other_shop.account) == 1
    # Released: the very next orders are recorded by the same process, no restart.
    for response, _seconds in post_many(url, orders[:1] + orders[-1:]):
        assert response.status_code == 201, response.content
    assert orders_used(shop.account) == orders_used(other_shop.account) == 2


def test_events_are_recorded_while_a_fresh_writer_meets_a_locked_order_table(
    live_server: Any, shop: Shop, short_timeouts: None, writer_errors: list[str]
) -> None:
    # record.py: "a lock on the order table (a migration, VACUUM FULL) holds up orders only,
    # and events keep being recorded". The event has no channel: only the record is written.
    url = live_server.url
    warm_up(url, shop)
    stop_writers()  # a writer (re)starts, as after a deployment or an idle minute
    with table_locked(Order._meta.db_table):
        answered = post_many(url, [("/api/events/track", shop, event_body(shop))] * 3)
        statuses = [getattr(r, "status_code", r) for r, _s in answered]
        assert statuses == [201, 201, 201], writer_errors
    assert EventRecord.objects.filter(project=shop.project).count() == 4


def test_events_with_a_channel_are_recorded_while_the_order_table_is_locked(
    live_server: Any, shop: Shop, short_timeouts: None, writer_errors: list[str]
) -> None:
    event_channels(shop)
    url = live_server.url
    warm_up(url, shop)  # the writers are running and have prepared their statements
    with table_locked(Order._meta.db_table):
        answered = post_many(url, [("/api/events/track", shop, event_body(shop))] * 3)
        statuses = [getattr(r, "status_code", r) for r, _s in answered]
        assert statuses == [201, 201, 201], writer_errors
    assert EventRecord.objects.filter(project=shop.project).count() == 4
    assert Delivery.objects.filter(topic="event").count() == 2 * 4


def test_a_writer_that_met_a_locked_outbox_table_records_again_once_it_is_released(
    live_server: Any, shop: Shop, short_timeouts: None, writer_errors: list[str]
) -> None:
    # VACUUM FULL of the outbox (deliveries churn: sent ones are deleted after 90 days) takes
    # ACCESS EXCLUSIVE on it. Orders may get 503 meanwhile; afterwards they must not.
    url = live_server.url
    warm_up(url, shop)
    stop_writers()
    with table_locked(Delivery._meta.db_table):
        response, seconds = timed_post(url, "/api/orders/track", shop, {"id": "held", "total": 1})
        assert_unavailable(response, seconds)
    statuses = [
        timed_post(url, "/api/orders/track", shop, {"id": f"after-{n}", "total": 1})[0]
        for n in range(3)
    ]
    assert [getattr(r, "status_code", r) for r in statuses] == [201, 201, 201], writer_errors
    assert orders_used(shop.account) == 4


def test_an_update_waiting_for_a_locked_order_row_answers_503_within_the_bound(
    api: Api, shop: Shop, settings: Any
) -> None:
    from orderreport.projects import services as project_services

    settings.INGEST_LOCK_TIMEOUT_MS = 300
    settings.INGEST_STATEMENT_TIMEOUT_MS = 1000
    server_key = project_services.create_server_key(shop.project, "CRM")[1]
    order = Order.objects.create(
        project=shop.project, external_id="locked-1", total=1000, currency="RUB",
        received_at=timezone.now(),
    )  # fmt: skip
    with raw_connect() as holder:
        # Another session holds the order row (a long dashboard transaction, a migration);
        # the server ends it after 8 s, so that a missing bound fails the test, not hangs it.
        holder.execute("SET idle_in_transaction_session_timeout = '8s'")
        table = Order._meta.db_table
        holder.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [order.pk])  # noqa: S608
        started = time.monotonic()
        response = api.post(
            "/api/orders/update", {"id": "locked-1", "status": "paid"}, server_key, origin=None
        )
        waited = time.monotonic() - started
        with contextlib.suppress(psycopg.Error):
            holder.rollback()
    assert_error(response, 503, "Service temporarily unavailable", "unavailable")
    assert waited < 5, waited  # the lock timeout, not the lock's 8 s
    order.refresh_from_db()
    assert order.status == "new"
    assert not StatusChange.objects.exists()
    # The row free again: the same update goes through.
    response = api.post(
        "/api/orders/update", {"id": "locked-1", "status": "paid"}, server_key, origin=None
    )
    assert response.status_code == 200, response.content
