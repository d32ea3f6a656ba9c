"""The batch writer (ingest/writer.py) with real threads on committed data, on both databases.

Items go through a writer thread and its own connection, never the test's transaction. Most
tests use a fresh BatchWriter over the database's backend wrapped in a SpyBackend (helpers.py),
which records each database attempt and can hold one; bursts are made to queue up into one
batch by holding the first batch (`before_batch`) until the rest wait behind it. One race
goes through the API on the live server and the process's own writers.

What a request is told must be true: its own outcome when its batch commits; NotRecorded
only when its item is certainly not stored; OutcomeUnknown when it may be.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import transaction

from orderreport.accounts.services import orders_used
from orderreport.events.models import EventRecord
from orderreport.ingest import record
from orderreport.ingest import writer as writer_module
from orderreport.ingest.rows import OrderItem, Outcome, Result
from orderreport.ingest.writer import BatchWriter, NotRecorded, OutcomeUnknown
from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey
from tests.conftest import Shop, make_shop
from tests.ingest.helpers import (
    SpyBackend,
    event_item,
    limit_to,
    order_item,
    order_row,
    outcomes,
    post_together,
    results_of,
    stored_ids,
    submit_all,
    submit_behind_one,
    used,
)

# serialized_rollback: the flush between transactional tests also deletes the seeded plans.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CREATED, DUPLICATE, LIMIT = Outcome.CREATED, Outcome.DUPLICATE, Outcome.LIMIT_REACHED
KEY_GONE = Outcome.KEY_GONE


@pytest.fixture
def spy() -> SpyBackend:
    return SpyBackend(record.backend())


@pytest.fixture
def writer(spy: SpyBackend) -> Iterator[BatchWriter]:
    """A writer of its own (not the process's), stopped after the test."""
    w = BatchWriter("test", spy)
    yield w
    if spy.gate is not None:
        spy.gate.set()
    w.before_batch = None
    w.stop(timeout=30)
    assert w._thread is None, "the writer thread did not end"


@pytest.fixture
def release(writer: BatchWriter) -> Iterator[threading.Event]:
    """What a held batch waits for; set at the end of the test whatever happened, so the
    writer can stop (torn down before `writer`)."""
    event = threading.Event()
    yield event
    event.set()


# --- Races through the API --------------------------------------------------------------------


def test_forty_parallel_requests_with_one_order_id_store_it_once(
    live_server: Any, shop: Shop
) -> None:
    bodies = [{"id": "same", "total": 100 + n} for n in range(40)]
    responses = post_together(live_server.url, shop, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 39}, statuses
    assert [r.json() for r in responses if r.status_code == 201] == [
        {"message": "Order tracked", "id": "same"}
    ]
    conflict = next(r for r in responses if r.status_code == 409)
    assert conflict.json() == {
        "message": "Order with this id already exists",
        "code": "duplicate_order",
    }
    assert Order.objects.filter(project=shop.project).count() == 1
    assert orders_used(shop.account) == 1


# --- Bursts -----------------------------------------------------------------------------------


def test_forty_parallel_orders_are_all_created_in_shared_batches(
    shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    items = [order_item(shop, f"o{n}") for n in range(40)]
    results = results_of(submit_behind_one(writer, items[0], items[1:]))
    assert outcomes(results) == [CREATED] * 40
    assert len({r.record_id for r in results}) == 40
    assert set(Order.objects.values_list("pk", flat=True)) == {r.record_id for r in results}
    assert used(shop) == 40
    # One transaction per batch, every order in exactly one: the first, then the other 39.
    assert spy.calls == [(1, True), (39, True)]


def test_a_parallel_burst_on_a_limit_of_ten_creates_exactly_ten(
    shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    limit_to(shop, 10)
    items = [order_item(shop, f"o{n}") for n in range(40)]
    results = results_of(submit_all(writer, items))
    assert Counter(outcomes(results)) == {CREATED: 10, LIMIT: 30}
    accepted = {items[n].row.external_id for n, r in enumerate(results) if r.created}
    assert set(stored_ids(shop)) == accepted
    assert used(shop) == 10 == orders_used(shop.account)
    assert sum(spy.committed) == 40


def test_parallel_copies_of_one_id_are_stored_once(shop: Shop, writer: BatchWriter) -> None:
    results = results_of(submit_all(writer, [order_item(shop, "same") for _ in range(20)]))
    assert Counter(outcomes(results)) == {CREATED: 1, DUPLICATE: 19}
    assert stored_ids(shop) == ["same"]
    assert used(shop) == 1


def test_each_item_of_a_batch_gets_its_own_outcome(
    shop: Shop, other_shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    limit_to(other_shop, 1)
    record.record_in_transaction([order_item(other_shop, "full")])  # committed: autocommit
    old = ApiKey.objects.create(project=shop.project, name="Old site")
    gone = OrderItem(old.pk, shop.account.pk, shop.account.current_period()[0],
                     order_row(shop, "gone"))  # fmt: skip
    old.delete()
    rest = {
        "new": order_item(shop, "new"),
        "stored": order_item(shop, "first"),
        "gone": gone,
        "limit": order_item(other_shop, "over"),
        "event": event_item(shop),
    }
    answers = submit_behind_one(writer, order_item(shop, "first"), list(rest.values()))
    results = dict(zip(["first", *rest], results_of(answers), strict=True))
    assert spy.calls == [(1, True), (5, True)]  # the five were one batch
    assert {name: r.outcome for name, r in results.items()} == {
        "first": CREATED,
        "new": CREATED,
        "stored": DUPLICATE,
        "gone": KEY_GONE,
        "limit": LIMIT,
        "event": CREATED,
    }
    assert stored_ids(shop) == ["first", "new"]
    assert Order.objects.get(external_id="new").pk == results["new"].record_id
    assert EventRecord.objects.get().pk == results["event"].record_id
    assert (used(shop), used(other_shop)) == (2, 1)


def test_a_burst_larger_than_a_batch_is_split(
    shop: Shop, writer: BatchWriter, spy: SpyBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "MAX_BATCH", 4)
    limit_to(shop, 6)
    items = [order_item(shop, f"o{n}") for n in range(10)]
    results = results_of(submit_behind_one(writer, items[0], items[1:]))
    assert spy.calls == [(1, True), (4, True), (4, True), (1, True)]
    assert Counter(outcomes(results)) == {CREATED: 6, LIMIT: 4}
    assert results[0].outcome is CREATED
    assert Order.objects.count() == 6
    assert used(shop) == 6


# --- Requests that stop waiting ---------------------------------------------------------------


def test_a_request_that_gives_up_while_queued_is_taken_out(
    shop: Shop, writer: BatchWriter, release: threading.Event, settings: Any
) -> None:
    settings.INGEST_WAIT_SECONDS = 0.3
    taken = threading.Event()

    def stuck(items: list[Any]) -> None:
        taken.set()
        assert release.wait(timeout=30)

    writer.before_batch = stuck
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(submit_all, writer, [order_item(shop, "running")])
        assert taken.wait(timeout=30)
        started = time.monotonic()
        with pytest.raises(NotRecorded):
            writer.submit(order_item(shop, "queued"))
        assert time.monotonic() - started < 5
        assert writer._queue == []  # taken out: nothing will ever write it
        # The request whose batch the writer had taken may be stored: it cannot be told
        # otherwise.
        [answer] = running.result(timeout=30)
    assert isinstance(answer, OutcomeUnknown)
    writer.before_batch = None
    release.set()
    writer.stop(timeout=30)
    assert not Order.objects.filter(external_id="queued").exists()
    # The writer goes on, and the client's retry is recorded.
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "queued")]))) == [CREATED]
    assert used(shop) == Order.objects.count()


def test_a_request_that_gives_up_while_its_batch_runs_is_told_the_outcome_is_unknown(
    shop: Shop, writer: BatchWriter, spy: SpyBackend, settings: Any
) -> None:
    settings.INGEST_WAIT_SECONDS = 0.3
    spy.gate = threading.Event()  # the database is slow to answer
    started = time.monotonic()
    [answer] = submit_all(writer, [order_item(shop, "slow")])
    assert isinstance(answer, OutcomeUnknown)
    assert time.monotonic() - started < 5
    spy.gate.set()
    writer.stop(timeout=30)  # the batch finishes
    assert spy.calls == [(1, True)]
    assert stored_ids(shop) == ["slow"]  # it was stored after all ...
    # ... which the client learns when it retries with the same id, as it is told to.
    assert outcomes(results_of(submit_all(writer, [order_item(shop, "slow")]))) == [DUPLICATE]
    assert used(shop) == 1


# --- Failures ---------------------------------------------------------------------------------


def test_a_batch_failing_as_a_whole_is_retried_item_by_item(
    shop: Shop, writer: BatchWriter, spy: SpyBackend
) -> None:
    tight = make_shop(domain="tight.example")
    limit_to(tight, 2)
    # Too big for a bigint column: the database refuses the whole batch's statement.
    bad = order_item(shop, "bad", total=2**63)
    rest = [
        order_item(shop, "a"),
        bad,
        order_item(shop, "b"),
        order_item(shop, "a"),
        *(order_item(tight, f"t{n}") for n in range(3)),
        event_item(shop),
    ]
    answers = submit_behind_one(writer, order_item(shop, "first"), rest)
    # The first alone; the eight as one batch, which failed; then each alone, in queue order.
    assert spy.calls[:2] == [(1, True), (8, False)]
    assert Counter(spy.calls[2:]) == {(1, True): 7, (1, False): 1}
    assert isinstance(answers[2], NotRecorded)  # the bad order failed alone: 503
    good = results_of([a for n, a in enumerate(answers) if n != 2])
    assert Counter(outcomes(good)) == {CREATED: 6, DUPLICATE: 1, LIMIT: 1}
    assert stored_ids(shop) == ["a", "b", "first"]
    assert len(stored_ids(tight)) == 2
    assert EventRecord.objects.count() == 1
    assert (used(shop), used(tight)) == (3, 2)


def test_a_writer_that_fails_answers_its_items_and_goes_on(
    shop: Shop, writer: BatchWriter, settings: Any
) -> None:
    settings.INGEST_WAIT_SECONDS = 30  # an answer well before this comes from the writer
    batches: list[list[Any]] = []

    def broken(items: list[Any]) -> None:
        batches.append(items)
        if len(batches) == 1:
            raise RuntimeError("a bug in the writer (simulated)")

    started = time.monotonic()
    answers = submit_behind_one(
        writer, order_item(shop, "first"), [order_item(shop, "a"), order_item(shop, "b")], broken
    )
    assert isinstance(answers[0], OutcomeUnknown)  # answered (503), not left waiting
    assert time.monotonic() - started < 10
    assert outcomes(results_of(answers[1:])) == [CREATED, CREATED]
    assert [len(b) for b in batches] == [1, 2]
    assert stored_ids(shop) == ["a", "b"]


# The thread's death is the point: its exception is expected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_thread_that_dies_is_succeeded_by_a_new_one(
    shop: Shop, writer: BatchWriter, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.INGEST_WAIT_SECONDS = 0.5
    threads: list[threading.Thread] = []

    def crash(items: list[Any]) -> None:
        threads.append(threading.current_thread())
        if len(threads) == 1:
            raise SystemExit("the writer thread ends (simulated)")

    # Even its error handling fails: the thread itself ends, with items queued behind it.
    real = writer_module.log

    class Log:
        def exception(self, *args: Any) -> None:
            raise SystemExit("and so does its error handling")

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(writer_module, "log", Log())
    answers = submit_behind_one(
        writer, order_item(shop, "first"), [order_item(shop, "a"), order_item(shop, "b")], crash
    )
    # Its own item was being written when it died: it may be stored, as far as anyone knows.
    assert isinstance(answers[0], OutcomeUnknown)
    assert outcomes(results_of(answers[1:])) == [CREATED, CREATED]  # its successor took them
    assert len(threads) == 2 and threads[0] is not threads[1]
    assert not threads[0].is_alive()
    assert stored_ids(shop) == ["a", "b"]


# --- Starting and stopping --------------------------------------------------------------------


def test_stop_drains_what_is_queued(
    shop: Shop, writer: BatchWriter, release: threading.Event
) -> None:
    taken = threading.Event()

    def held(items: list[Any]) -> None:
        if not taken.is_set():
            taken.set()
            assert release.wait(timeout=30)

    writer.before_batch = held
    items = [order_item(shop, f"o{n}") for n in range(6)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(writer.submit, items[0])
        assert taken.wait(timeout=30)
        rest = [pool.submit(writer.submit, item) for item in items[1:]]
        deadline = time.monotonic() + 30
        while len(writer._queue) < 5:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        stopping = pool.submit(writer.stop, 30)
        time.sleep(0.05)
        assert not stopping.done()  # waits for the queue to drain
        release.set()
        stopping.result(timeout=30)
        results = [first.result(timeout=30)] + [f.result(timeout=30) for f in rest]
    assert outcomes(results) == [CREATED] * 6
    assert writer._thread is None
    assert len(stored_ids(shop)) == 6
    # Stopped, it starts again with the next item.
    writer.before_batch = None
    assert writer.submit(order_item(shop, "after")).created
    assert used(shop) == 7


def test_orders_outside_a_transaction_go_through_the_process_writer(shop: Shop) -> None:
    limit_to(shop, 6)
    items = [order_item(shop, f"o{n}") for n in range(8)]
    items += [order_item(shop, "o0"), order_item(shop, "o1"), event_item(shop)]
    seen: list[int] = []
    writers = {id(record.writer(i)): record.writer(i) for i in items}
    for w in writers.values():
        w.before_batch = lambda batch: seen.extend([len(batch)])
    try:
        start = threading.Barrier(len(items))

        def send(item: Any) -> Result:
            start.wait()
            return record.record(item)

        with ThreadPoolExecutor(max_workers=len(items)) as pool:
            results = list(pool.map(send, items))
    finally:
        for w in writers.values():
            w.before_batch = None
    assert sum(seen) == len(items)  # every one of them went through a writer
    assert Counter(outcomes(results[:10]))[CREATED] == 6
    assert set(outcomes(results[:10])) <= {CREATED, DUPLICATE, LIMIT}
    assert results[10].created
    assert Order.objects.count() == 6
    assert used(shop) == 6


def test_an_order_inside_a_transaction_commits_with_that_transaction(shop: Shop) -> None:
    item = order_item(shop, "inside")
    seen: list[int] = []
    process_writer = record.writer(item)
    process_writer.before_batch = lambda batch: seen.append(len(batch))
    try:
        with transaction.atomic():
            result = record.record(item)
            assert Order.objects.filter(external_id="inside").exists()
            transaction.set_rollback(True)
    finally:
        process_writer.before_batch = None
    assert result.created
    assert seen == []  # not the writer's: the caller's transaction decides
    assert not Order.objects.exists()
    assert used(shop) == 0
