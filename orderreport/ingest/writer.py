"""The per-process batch writer: every accepted order and event record reaches the database here.

Each request thread hands its item to the writer of its lane and sleeps; the writer's thread
takes everything that queued up while it was busy, runs it as one transaction through the
database's backend (ingest/postgres.py, ingest/sqlite.py), and wakes each thread with its own
Result. A lone item is a batch of one: nothing waits for a timer. One transaction per batch
means one commit flush for many orders, one round trip on PostgreSQL, and on SQLite a single
writer instead of every request thread queuing on the database's write lock.

What a request may be told, and why it is true:

- its Result: the batch committed (or the item was refused by a rule) before the answer;
- `NotRecorded` (503): the item is certainly not stored: it was taken out of the queue before
  any attempt, or its last attempt failed in a way that rolled it back;
- `OutcomeUnknown` (503): the item may be stored: the connection was lost during its commit
  and the retry could not tell, or the request stopped waiting while its batch was running.
  The client retries with the same id; for an order, a 409 then means it was stored.

A connection lost mid-batch leaves the commit undecided: the batch is sent once more on a new
connection, and each item recognises its own row by the random tag it carries (rule "own
row" in ingest/__init__.py), so nothing is stored twice and nobody gets a 409 for their own
order. A batch that fails as a whole is retried item by item (a bad item fails alone); one that
waited out the lock timeout is retried account by account (a row locked elsewhere fails only
its own account's orders). Every attempt is bounded by the backend's lock and statement
timeouts, and no request waits longer than `settings.INGEST_WAIT_SECONDS`.

On SIGTERM nothing queued is lost: granian stops accepting connections and lets the requests
in flight finish, and every queued item belongs to such a request, waiting for its answer; so
the writer commits and answers them all before the worker exits (tested with the real server
in tests/ingest/test_faults_server.py). Granian's forked workers skip atexit handlers; for
servers that run them, `stop_writers` is registered to drain the queue at exit as well.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from orderreport.ingest.rows import Item, OrderItem, Result
from orderreport.outage import Outage

log = logging.getLogger(__name__)
outage = Outage("database (batch writer)", log)

MAX_BATCH = 256  # items per transaction; more wait for the next one
IDLE_SECONDS = 30.0  # the writer closes its database connection after this long idle


class NotRecorded(DatabaseError):
    """The item is certainly not stored; the client may retry."""


class OutcomeUnknown(DatabaseError):
    """The item may or may not be stored; the client retries with the same id."""


# How a backend classifies an exception of a batch attempt.
LOCK_TIMEOUT = "lock_timeout"  # rolled back after waiting for a lock held elsewhere
CONNECTION = "connection"  # the connection broke: the commit may or may not have happened
OTHER = "other"  # rolled back (a bad item, a deadlock, a row deleted a moment ago)


class Backend(Protocol):
    """One database's implementation of the recording rules (see ingest/__init__.py)."""

    # Whether a lock timeout can be about one account's row (then the other accounts' items
    # are retried without it) rather than the whole database.
    row_locks: bool

    def run_batch(self, db: Any, items: Sequence[Item], retry: bool) -> list[Result]:
        """Record `items` in one transaction of the writer's connection `db`, and commit.

        `retry`: the batch may already have been committed by an attempt whose connection
        broke; each item then looks for its own row first.
        """

    def classify(self, exc: BaseException) -> str:
        """LOCK_TIMEOUT, CONNECTION or OTHER."""

    def prepare_connection(self, db: Any) -> None:
        """Make the writer's connection usable (connect, timeouts, prepared statements)."""

    def run_in_transaction(self, items: Sequence[Item], retry: bool) -> list[Result]:
        """Record `items` inside the caller's transaction, on this thread's connection."""


class _Waiter:
    """One request's item and, once decided, its result or the error to raise."""

    __slots__ = ("deadline", "done", "error", "item", "result", "state")

    QUEUED, RUNNING, ANSWERED, GAVE_UP = range(4)

    def __init__(self, item: Item, deadline: float) -> None:
        self.item = item
        self.deadline = deadline
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.state = self.QUEUED
        # A bare lock is the cheapest thing a thread can sleep on until another releases it.
        self.done = threading.Lock()
        self.done.acquire()


class BatchWriter:
    """One lane's writer thread and the queue of items waiting for it."""

    def __init__(self, name: str, backend: Backend) -> None:
        self.name = name
        self.backend = backend
        self._queue: list[_Waiter] = []
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Tests pause the writer between taking a batch and running it.
        self.before_batch: Callable[[list[Item]], None] | None = None

    # --- the request's side ---

    def submit(self, item: Item) -> Result:
        """Record one item with whatever else is waiting; returns once it is decided."""
        wait = settings.INGEST_WAIT_SECONDS
        waiter = _Waiter(item, time.monotonic() + wait)
        with self._wake:
            if self._thread is None:
                self._start()
            self._queue.append(waiter)
            self._wake.notify()
        if not waiter.done.acquire(timeout=wait):
            with self._wake:
                if waiter.state == _Waiter.QUEUED:
                    # Never attempted: taking it out of the queue makes "not stored" true.
                    self._queue.remove(waiter)
                    waiter.state = _Waiter.GAVE_UP
                    raise NotRecorded(f"not written within {wait:g} s (the database is stuck)")
                if waiter.state == _Waiter.RUNNING:
                    waiter.state = _Waiter.GAVE_UP
                    raise OutcomeUnknown(f"its batch was still running after {wait:g} s")
            # Answered between the timeout and the lock: the answer is there.
            waiter.done.acquire()
        if waiter.error is not None:
            raise waiter.error
        assert waiter.result is not None
        return waiter.result

    # --- the writer's side ---

    def stop(self, timeout: float = 30.0) -> None:
        """Drain the queue, close the connection and end the thread (shutdown, tests)."""
        with self._wake:
            thread, self._stopping = self._thread, True
            self._wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout)

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"orderreport-writer-{self.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        db = connections[DEFAULT_DB_ALIAS]  # this thread's own connection
        try:
            while True:
                with self._wake:
                    while not self._queue and not self._stopping:
                        if not self._wake.wait(timeout=IDLE_SECONDS) and not self._queue:
                            # Idle: give the server its connection back until items return.
                            db.close()
                    if not self._queue:
                        # Stopping, queue drained: from here on, a new item starts a new thread.
                        self._thread = None
                        return
                    batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                    for waiter in batch:
                        waiter.state = _Waiter.RUNNING
                try:
                    if self.before_batch is not None:
                        self.before_batch([w.item for w in batch])
                    self._commit(db, batch, retry=False)
                except BaseException as exc:  # a bug must not leave requests waiting
                    log.exception("the %s batch writer failed", self.name)
                    self._answer(batch, error=OutcomeUnknown(f"the batch writer failed: {exc}"))
        finally:
            with self._wake:
                if self._thread is threading.current_thread():
                    # Died with items queued (the loop only returns when stopping with an
                    # empty queue): a successor takes them over.
                    self._thread = None
                    if self._queue:
                        self._start()
            db.close()

    def _answer(
        self,
        waiters: Sequence[_Waiter],
        results: Sequence[Result] | None = None,
        error: BaseException | None = None,
    ) -> None:
        with self._wake:
            for n, waiter in enumerate(waiters):
                if waiter.state != _Waiter.RUNNING:
                    continue  # gave up already; its request was told the outcome is unknown
                if results is not None:
                    waiter.result = results[n]
                else:
                    waiter.error = error
                waiter.state = _Waiter.ANSWERED
                waiter.done.release()

    def _commit(self, db: Any, batch: list[_Waiter], retry: bool) -> None:
        # Items whose requests stopped waiting are not attempted again: they were told the
        # outcome is unknown and will retry themselves.
        batch = [w for w in batch if w.state == _Waiter.RUNNING]
        if not batch:
            return
        try:
            self.backend.prepare_connection(db)
            results = self.backend.run_batch(db, [w.item for w in batch], retry)
        except Exception as exc:
            self._failed(db, batch, retry, exc)
            return
        outage.succeeded()
        self._answer(batch, results)

    def _failed(self, db: Any, batch: list[_Waiter], retry: bool, exc: Exception) -> None:
        kind = self.backend.classify(exc)
        if kind == CONNECTION:
            db.close()  # connect afresh for the next attempt
            if not retry:
                # The commit may have happened: once more, each item looking for its own row.
                log.warning("%s batch of %d: connection lost (%s); retrying", self.name,
                            len(batch), exc)  # fmt: skip
                self._commit(db, batch, retry=True)
                return
        elif kind == LOCK_TIMEOUT:
            accounts: dict[int | None, list[_Waiter]] = {}
            for waiter in batch:
                item = waiter.item
                accounts.setdefault(
                    item.account_id if isinstance(item, OrderItem) else None, []
                ).append(waiter)
            if len(accounts) > 1 and self.backend.row_locks:
                # A row locked elsewhere: each account goes again on its own, so only the
                # account whose row is held fails, not every tenant of the process.
                now = time.monotonic()
                for part in accounts.values():
                    alive = [w for w in part if w.deadline > now]
                    self._answer([w for w in part if w.deadline <= now],
                                 error=self._error(retry, exc))  # fmt: skip
                    if alive:
                        self._commit(db, alive, retry)
                return
        elif len(batch) > 1:
            log.warning("%s batch of %d failed (%s); retrying each", self.name, len(batch), exc)
            for waiter in batch:
                self._commit(db, [waiter], retry)
            return
        outage.failed(f"{self.name} batch", exc)
        self._answer(batch, error=self._error(retry, exc))

    @staticmethod
    def _error(retry: bool, exc: BaseException) -> DatabaseError:
        # After a lost connection the first attempt's commit stays undecided if the retry
        # fails too; otherwise the failed attempt was rolled back.
        if retry:
            return OutcomeUnknown(str(exc))
        return NotRecorded(str(exc))


_writers: dict[tuple[int, str], BatchWriter] = {}
_writers_lock = threading.Lock()


def writer_for(lane: str, backend_factory: Callable[[], Backend]) -> BatchWriter:
    """This process's writer of `lane` (created on first use)."""
    # Keyed by process id: a forked server process must start its own threads.
    key = (os.getpid(), lane)
    writer = _writers.get(key)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(key)
            if writer is None:
                if not _writers:
                    atexit.register(stop_writers)
                writer = _writers[key] = BatchWriter(lane, backend_factory())
    return writer


def stop_writers(timeout: float = 30.0) -> None:
    """Drain and stop this process's writers (they start again with the next item)."""
    pid = os.getpid()
    for (owner, _lane), writer in list(_writers.items()):
        if owner == pid:
            writer.stop(timeout)
