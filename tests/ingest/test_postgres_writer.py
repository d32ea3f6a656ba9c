"""The batch writer on PostgreSQL: its session, its prepared statements, its lost connections.

What only PostgreSQL has (ingest/postgres.py): statements prepared once per connection and
planned again as the tables fill; session timeouts that bound every wait; a server that may
drop an idle session or forget its statements (a pooler's DISCARD ALL); a commit whose answer
can be lost with the connection; and row locks another session may hold. Real threads on
committed data, through a fresh writer over the PostgreSQL backend (see test_writer.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from orderreport.accounts.models import Usage
from orderreport.events.models import EventRecord
from orderreport.ingest import postgres
from orderreport.ingest.rows import Outcome
from orderreport.ingest.writer import BatchWriter, NotRecorded, OutcomeUnknown
from orderreport.notify.models import Delivery
from orderreport.orders.models import Order
from tests.conftest import Shop
from tests.ingest.helpers import (
    SpyBackend,
    event_item,
    order_item,
    outcomes,
    results_of,
    stored_ids,
    submit_all,
    submit_behind_one,
    used,
)
from tests.notify.conftest import webhook_channel

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: the flush between transactional tests also deletes the seeded plans.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CREATED, DUPLICATE = Outcome.CREATED, Outcome.DUPLICATE
ORDER_STATEMENTS = {"orderreport_lock_usage", "orderreport_orders"}
STATEMENTS = {*ORDER_STATEMENTS, "orderreport_events"}


@pytest.fixture
def spy() -> SpyBackend:
    return SpyBackend(postgres.BACKEND)


@pytest.fixture
def writer(spy: SpyBackend) -> Iterator[BatchWriter]:
    """A writer of its own over the PostgreSQL backend, stopped after the test."""
    w = BatchWriter("orders", spy)
    yield w
    w.before_batch = None
    w.stop(timeout=30)
    assert w._thread is None, "the writer thread did not end"


def on_writers_connection(sql: str) -> list[tuple[Any, ...]]:
    """Run `sql` on the calling thread's connection: from before_batch, the writer's own."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.connection is None:
        return []  # its first batch: not connected yet
    with db.connection.cursor() as cursor:
        cursor.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def prepared() -> dict[str, str]:
    rows = on_writers_connection("SELECT name, prepare_time::text FROM pg_prepared_statements")
    return dict(rows)  # type: ignore[arg-type]


def lost_connection() -> OperationalError:
    """What the writer sees when the server's answer to a commit never arrives."""
    error = OperationalError("server closed the connection unexpectedly")
    error.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    return error


# --- Prepared statements ----------------------------------------------------------------------


def test_the_writer_prepares_again_after_discard_all(
    shop: Shop, writer: BatchWriter, spy: SpyBackend, settings: Any
) -> None:
    settings.INGEST_LOCK_TIMEOUT_MS = 1234
    settings.INGEST_STATEMENT_TIMEOUT_MS = 5678
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "a")]))) == [CREATED]
    seen: dict[str, Any] = {}

    def discard(items: list[Any]) -> None:
        # As a pooler in session mode does between two clients: statements and settings go.
        seen["before"] = prepared()
        on_writers_connection("DISCARD ALL")

    batch = [order_item(shop, "b"), order_item(shop, "a"), event_item(shop)]
    results = results_of(submit_behind_one(writer, batch[0], batch[1:], discard))
    assert outcomes(results) == [CREATED, DUPLICATE, CREATED]
    assert set(seen["before"]) >= ORDER_STATEMENTS  # they were there, and were discarded

    def inspect(items: list[Any]) -> None:
        seen["after"] = prepared()
        seen["timeouts"] = on_writers_connection(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        )

    writer.before_batch = inspect
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "c")]))) == [CREATED]
    assert set(seen["after"]) == STATEMENTS
    assert seen["timeouts"] == [("1234ms", "5678ms")]  # the session's bounds came back too
    assert all(ok for _size, ok in spy.calls)
    assert stored_ids(shop) == ["a", "b", "c"]
    assert used(shop) == 3


def test_the_writer_plans_its_statements_again_as_the_tables_fill(
    shop: Shop, writer: BatchWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every batch is a planning point here: each must prepare cleanly over the last.
    monkeypatch.setattr(postgres, "REPLAN_SECONDS", 0.0)
    snapshots: list[dict[str, str]] = []
    writer.before_batch = lambda items: snapshots.append(prepared())
    for n in range(4):
        assert outcomes(results_of(submit_all(writer, [order_item(shop, f"o{n}")]))) == [CREATED]
    assert snapshots[0] == {}  # not connected before the first batch
    times = [{n: t for n, t in s.items() if n in ORDER_STATEMENTS} for s in snapshots[1:]]
    assert [set(t) for t in times] == [ORDER_STATEMENTS] * 3
    # Each batch's statements were prepared anew by the batch before it.
    assert len({frozenset(t.items()) for t in times}) == 3
    assert stored_ids(shop) == ["o0", "o1", "o2", "o3"]


def test_the_writer_keeps_its_plans_for_a_while_then_plans_again(
    shop: Shop, writer: BatchWriter
) -> None:
    snapshots: list[dict[str, str]] = []
    writer.before_batch = lambda items: snapshots.append(prepared())
    for n in range(12):
        assert outcomes(results_of(submit_all(writer, [order_item(shop, f"o{n}")]))) == [CREATED]
    # Prepared by the first batch and kept by the next ones (no PREPARE per batch) ...
    first = snapshots[1]
    assert set(first) >= ORDER_STATEMENTS
    assert snapshots[1:9] == [first] * 8
    # ... then prepared again once the table has rows (after 10 batches: ingest/postgres.py).
    assert all(snapshots[11][name] != first[name] for name in ORDER_STATEMENTS)
    assert used(shop) == 12


# --- Lost connections -------------------------------------------------------------------------


def test_an_order_survives_the_loss_of_the_writers_idle_connection(
    shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "a")]))) == [CREATED]
    # The server ends the writer's idle session (a restart, an idle timeout, an admin); the
    # call returns once that backend has exited.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 30000)", [spy.pids[-1]])
        assert cursor.fetchone() == (True,)
    # Nothing is wrong with this order: it goes through on a new connection, first time.
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "b")]))) == [CREATED]
    assert spy.calls == [(1, True), (1, True)]
    assert spy.pids[0] != spy.pids[1]
    assert stored_ids(shop) == ["a", "b"]


def test_a_batch_whose_commit_answer_is_lost_finds_its_own_rows(
    shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    channel = webhook_channel(shop, "https://example.com/hook")
    channel.events.add(shop.event)

    def lose_the_answer(items: list[Any]) -> None:
        if len(items) > 1:
            spy.after_commit.append(lost_connection())

    rest = [order_item(shop, "a"), event_item(shop), order_item(shop, "first")]
    answers = submit_behind_one(writer, order_item(shop, "first"), rest, lose_the_answer)
    results = results_of(answers)
    # Committed, answer lost, sent again on a new connection: each item found its own row.
    assert spy.calls == [(1, True), (3, True), (3, True)]
    assert spy.pids[1] != spy.pids[2]
    assert outcomes(results) == [CREATED, CREATED, CREATED, DUPLICATE]
    assert Order.objects.get(external_id="a").pk == results[1].record_id
    assert EventRecord.objects.get().pk == results[2].record_id
    assert used(shop) == 2  # nothing counted twice
    assert Delivery.objects.filter(topic="order").count() == 2  # nor delivered twice
    assert Delivery.objects.filter(topic="event").count() == 1


def test_an_undecided_commit_whose_retry_fails_too_is_an_unknown_outcome(
    shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    spy.after_commit += [lost_connection(), lost_connection()]
    [answer] = submit_all(writer, [order_item(shop, "a")])
    assert isinstance(answer, OutcomeUnknown)  # 503: it may be stored ...
    assert stored_ids(shop) == ["a"]  # ... and it is: a retry with the same id gets 409
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "a")]))) == [DUPLICATE]
    assert used(shop) == 1


# --- A usage row locked elsewhere -------------------------------------------------------------


def hold_usage_row(shop: Shop) -> Any:
    """Another session takes the shop's usage row (say the account is being deleted)."""
    Usage.objects.get_or_create(account=shop.account, period_start=shop.account.current_period()[0])
    blocker = connections.create_connection(DEFAULT_DB_ALIAS)
    cursor = blocker.cursor()
    cursor.execute("BEGIN")
    cursor.execute(
        "SELECT used FROM accounts_usage WHERE account_id = %s FOR UPDATE", [shop.account.pk]
    )
    return blocker


def test_a_usage_row_locked_elsewhere_fails_only_its_own_accounts_orders(
    shop: Shop, other_shop: Shop, writer: BatchWriter, spy: SpyBackend, settings: Any
) -> None:
    settings.INGEST_LOCK_TIMEOUT_MS = 300  # the default is 2 s: the test would take 4
    blocker = hold_usage_row(shop)
    try:
        started = time.monotonic()
        answers = submit_behind_one(
            writer, order_item(other_shop, "first"), [order_item(shop, "stuck"),
                                                      order_item(other_shop, "ok")]
        )  # fmt: skip
        waited = time.monotonic() - started
    finally:
        blocker.close()  # its transaction ends with the session
    assert isinstance(answers[1], NotRecorded)  # lock timeout: 503, certainly not stored
    assert outcomes(results_of([answers[0], answers[2]])) == [CREATED, CREATED]
    assert waited < 2.0  # bounded by INGEST_LOCK_TIMEOUT_MS (twice), not the lock's duration
    assert stored_ids(other_shop) == ["first", "ok"]
    assert stored_ids(shop) == []
    # The batch waited out the lock once, then each account went alone: only the shop's failed.
    assert spy.calls[:2] == [(1, True), (2, False)]
    assert sorted(spy.calls[2:]) == [(1, False), (1, True)]
    # The lock gone, the client's retry goes through.
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "stuck")]))) == [CREATED]


def test_orders_waiting_for_a_locked_usage_row_fail_together_not_one_by_one(
    shop: Shop, other_shop: Shop, writer: BatchWriter, spy: SpyBackend, settings: Any
) -> None:
    settings.INGEST_LOCK_TIMEOUT_MS = 200
    blocker = hold_usage_row(shop)
    try:
        stuck = [order_item(shop, f"stuck-{n}") for n in range(3)]
        answers = submit_behind_one(
            writer, order_item(other_shop, "first"), [*stuck, order_item(other_shop, "ok")]
        )
    finally:
        blocker.close()
    assert [type(a) for a in answers[1:4]] == [NotRecorded] * 3
    assert stored_ids(other_shop) == ["first", "ok"]
    # The first order alone; the batch of four waits out the lock once; then the other
    # account's order goes alone and the locked account's three wait once more, together.
    assert spy.calls[:2] == [(1, True), (4, False)]
    assert sorted(spy.calls[2:]) == [(1, True), (3, False)]
