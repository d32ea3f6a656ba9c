"""Small assertions and builders shared by the write side's tests."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.utils import timezone

from orderreport.accounts.models import Plan, Usage
from orderreport.accounts.services import set_plan
from orderreport.ingest.rows import (
    EventItem,
    EventRow,
    Item,
    OrderItem,
    OrderRow,
    Outcome,
    Result,
    new_tag,
)
from orderreport.ingest.writer import BatchWriter
from orderreport.orders.models import Order


def assert_error(response: Any, status: int, message: str, code: str) -> dict[str, Any]:
    """The contract's error answer: JSON with `message` and `code`, the given status."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["message"] == message
    assert body["code"] == code
    return body


def assert_invalid(response: Any) -> dict[str, list[str]]:
    """A 422 "Validation error"; returns its `errors`."""
    body = assert_error(response, 422, "Validation error", "validation_error")
    errors: dict[str, list[str]] = body["errors"]
    assert errors, "a validation error names at least one field"
    for path, messages in errors.items():
        assert isinstance(path, str) and path
        assert messages and all(isinstance(m, str) and m for m in messages)
    return errors


def order(order_id: str = "order-1", **fields: Any) -> dict[str, Any]:
    """A minimal valid order body."""
    return {"id": order_id, "total": 1000, **fields}


def plan_with_limit(limit: int | None) -> Plan:
    plan, _ = Plan.objects.get_or_create(
        name=f"test-{limit}", defaults={"title": f"Test {limit}", "monthly_order_limit": limit}
    )
    return plan


def order_row(
    shop: Any,
    external_id: str,
    *,
    project_id: int | None = None,
    received_at: dt.datetime | None = None,
    **fields: Any,
) -> OrderRow:
    """An order row of the shop's project (or `project_id`), with plain defaults."""
    values: dict[str, Any] = {
        "project_id": shop.project.pk if project_id is None else project_id,
        "external_id": external_id,
        "total": 1000,
        "currency": "RUB",
        "username": "",
        "email": "",
        "phone": "",
        "products": [],
        "data": [],
        "origin": "https://example.com",
        "client_ip": None,
        "user_agent": "",
        "received_at": received_at or timezone.now(),
        "ingest_tag": new_tag(),
    }
    values.update(fields)
    return OrderRow(**values)


def order_item(
    shop: Any, external_id: str, period: dt.date | None = None, **fields: Any
) -> OrderItem:
    """An order of the shop, counted in `period` (default: the account's current one)."""
    return OrderItem(
        key_id=shop.key.pk,
        account_id=shop.account.pk,
        period_start=period or shop.account.current_period()[0],
        row=order_row(shop, external_id, **fields),
    )


def event_item(
    shop: Any, event_id: int | None = None, *, form: bool = False, **fields: Any
) -> EventItem:
    """A record of the shop's event (or `event_id`); `form`: posted to a form endpoint, with
    no API key."""
    values: dict[str, Any] = {
        "project_id": shop.project.pk,
        "event_id": shop.event.pk if event_id is None else event_id,
        "data": [],
        "origin": "https://example.com",
        "client_ip": None,
        "user_agent": "",
        "received_at": timezone.now(),
        "ingest_tag": new_tag(),
    }
    values.update(fields)
    return EventItem(key_id=None if form else shop.key.pk, row=EventRow(**values))


# --- The recording rules (tests/ingest/test_rules*.py) ----------------------------------------


def outcomes(results: Sequence[Result]) -> list[Outcome]:
    return [r.outcome for r in results]


def limit_to(shop: Any, limit: int | None) -> None:
    """Put the shop's account on a plan of `limit` orders a month (None: unlimited)."""
    set_plan(shop.account, plan_with_limit(limit))


def used(shop: Any, period: dt.date | None = None) -> int:
    """The account's usage counter of `period` (default: the current one)."""
    period = period or shop.account.current_period()[0]
    usage = Usage.objects.filter(account=shop.account, period_start=period)
    return usage.values_list("used", flat=True).first() or 0


def stored_ids(shop: Any) -> list[str]:
    """The ids of the orders stored in the shop's project, sorted."""
    return sorted(Order.objects.filter(project=shop.project).values_list("external_id", flat=True))


# --- The batch writer with real threads (tests/ingest/test_*writer.py) ------------------------


class SpyBackend:
    """A backend that records each database attempt of the writer and can hold or break it.

    `calls`: one (items, committed) per run_batch. `gate`: when set, every attempt waits for it
    first (a slow database). `after_commit`: raises this exception once, after a committed
    attempt (the answer lost on the way back). `pids`: the server process of each committed
    attempt's connection (PostgreSQL).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[int, bool]] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.after_commit: list[BaseException] = []
        self.pids: list[int] = []

    @property
    def row_locks(self) -> bool:
        return bool(self.inner.row_locks)

    def classify(self, exc: BaseException) -> str:
        return str(self.inner.classify(exc))

    def prepare_connection(self, db: Any) -> None:
        self.inner.prepare_connection(db)

    def run_in_transaction(self, items: Sequence[Item], retry: bool) -> list[Result]:
        return list(self.inner.run_in_transaction(items, retry))

    def run_batch(self, db: Any, items: Sequence[Item], retry: bool) -> list[Result]:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=30), "the test never released the batch"
        try:
            results = list(self.inner.run_batch(db, items, retry))
        except BaseException:
            self.calls.append((len(items), False))
            raise
        self.calls.append((len(items), True))
        if db.vendor == "postgresql":
            self.pids.append(db.connection.info.backend_pid)
        if self.after_commit:
            raise self.after_commit.pop(0)
        return results

    @property
    def committed(self) -> list[int]:
        return [size for size, ok in self.calls if ok]


Answered = Result | BaseException


def submit_all(writer: BatchWriter, items: Sequence[Item]) -> list[Answered]:
    """Submit every item from its own thread, all at once, as request threads would."""
    start = threading.Barrier(len(items))

    def send(item: Item) -> Answered:
        start.wait()
        try:
            return writer.submit(item)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(send, items))


def hold_first_batch(
    writer: BatchWriter, queued: int, then: Callable[[list[Item]], None] | None = None
) -> list[list[Item]]:
    """Hold the writer's first batch until `queued` more items wait behind it.

    Returns the batches the writer takes, as it takes them; `then` runs before each of them
    (after the hold). No timing involved: the rest of a burst is queued while the first batch
    is held, so it forms the next batch.
    """
    batches: list[list[Item]] = []

    def hold(items: list[Item]) -> None:
        batches.append(items)
        if len(batches) == 1:
            with writer._wake:  # submitters notify this condition after queueing
                assert writer._wake.wait_for(lambda: len(writer._queue) >= queued, timeout=30)
        if then is not None:
            then(items)

    writer.before_batch = hold
    return batches


def submit_behind_one(
    writer: BatchWriter,
    first: Item,
    rest: Sequence[Item],
    then: Callable[[list[Item]], None] | None = None,
) -> list[Answered]:
    """Commit `first` alone, with all of `rest` queued behind it: they form the next batch.

    `then`: as for hold_first_batch.
    """
    batches = hold_first_batch(writer, len(rest), then)
    with ThreadPoolExecutor(max_workers=1) as pool:
        head = pool.submit(submit_all, writer, [first])
        deadline = time.monotonic() + 30
        while not batches:  # the first batch is taken (and held)
            assert time.monotonic() < deadline, "the writer never took the first item"
            time.sleep(0.001)
        tail = submit_all(writer, rest)
        return head.result(timeout=60) + tail


def results_of(answers: Sequence[Answered]) -> list[Result]:
    """The answers, all of which must be results (no request failed)."""
    errors = [a for a in answers if isinstance(a, BaseException)]
    assert not errors, errors
    return [a for a in answers if isinstance(a, Result)]


def post_together(url: str, shop: Any, bodies: Sequence[dict[str, Any]]) -> list[Any]:
    """POST every order body to the live server at once, each from its own thread.

    Each thread first opens its connection (a CORS preflight, kept alive) and only then waits
    for the others: the live server listens with a backlog of 10, and 40 connections opened in
    the same instant would overflow it (connection resets); the POSTs themselves still race.
    """
    import httpx

    start = threading.Barrier(len(bodies))
    headers = {"X-API-KEY": shop.key.key, "Origin": shop.origin}

    def send(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as client:
            try:
                client.options("/api/orders/track", headers={"Origin": shop.origin})
            finally:
                start.wait()
            return client.post("/api/orders/track", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))
