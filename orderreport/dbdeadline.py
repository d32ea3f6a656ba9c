"""A deadline on every query of a page or an API read: a hung PostgreSQL costs bounded time.

A PostgreSQL that accepts connections and never answers (stopped, swapping, a saturated disk)
would hold a page's thread until TCP gives up, which may be never: the server's kernel keeps
acknowledging. Server-side timeouts (statement_timeout) cannot help a server that does not
run; libpq's connect_timeout bounds only connecting (settings.DB_CONNECT_TIMEOUT_SECONDS).
So the client keeps the time: each query registers its deadline with one watchdog thread per
process, and a query still waiting when its deadline passes has its connection's socket shut
down. psycopg then raises OperationalError at once, Django discards the connection at the end
of the request, and `DeadlineMiddleware` answers 503 with Retry-After instead of a 500.

The orders and events endpoints do not come here: they have their own bound
(INGEST_WAIT_SECONDS, ingest/writer.py). Exports read with a server-side cursor, whose
chunks are fetched without an execute() and, for a streamed CSV, after this middleware has
returned: `each_within_deadline` gives each of their steps the deadline.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_vary_headers

from orderreport.outage import Outage

log = logging.getLogger("orderreport.db")
T = TypeVar("T")

# Pages and API reads fail while the database is out; one line says so, not one per request.
db_outage = Outage("database (PostgreSQL)", log, "requests answered 503")


class Watchdog:
    """One thread that cuts the connections of queries past their deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._watched: dict[int, Any] = {}  # token -> psycopg PGconn
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self.cut = 0  # connections cut (for tests and the log)

    def watch(self, seconds: float, pgconn: Any) -> int:
        token = next(self._tokens)
        deadline = time.monotonic() + seconds
        with self._cond:
            self._watched[token] = pgconn
            heapq.heappush(self._heap, (deadline, token))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="db-deadline", daemon=True)
                self._thread.start()
            elif self._heap[0][1] == token:
                self._cond.notify()  # an earlier deadline than the one it sleeps for
        return token

    def done(self, token: int) -> None:
        with self._cond:
            self._watched.pop(token, None)
            # Finished entries at the top go now (an export arms one per row: they must not
            # pile up until the thread wakes); the others when they come up.
            while self._heap and self._heap[0][1] not in self._watched:
                heapq.heappop(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][1] not in self._watched:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait(60)
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        _deadline, token = heapq.heappop(self._heap)
                        pgconn = self._watched.pop(token)
                        break
                    self._cond.wait(wait)
            self._cut(pgconn)

    def _cut(self, pgconn: Any) -> None:
        try:
            fd = pgconn.socket
        except Exception:  # closed meanwhile: nothing to cut
            return
        try:
            # A duplicate of the descriptor: shutdown() acts on the connection itself, and
            # closing the duplicate leaves psycopg's descriptor for psycopg to close.
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            return
        self.cut += 1
        db_outage.failed(f"a query got no answer within {settings.DB_QUERY_TIMEOUT_SECONDS} s")


watchdog = Watchdog()


def _deadline_wrapper(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, ctx: Any
) -> Any:
    pgconn = getattr(connection.connection, "pgconn", None)
    if pgconn is None:
        return execute(sql, params, many, ctx)
    token = watchdog.watch(settings.DB_QUERY_TIMEOUT_SECONDS, pgconn)
    try:
        return execute(sql, params, many, ctx)
    finally:
        watchdog.done(token)


def each_within_deadline(rows: Iterable[T]) -> Iterator[T]:
    """`rows`, each step of it under the query deadline.

    For a lazy queryset read with a server-side cursor (the exports): its first step runs the
    statement, and a later step now and then fetches the next chunk, which no execute() sees.
    A CSV export streams after DeadlineMiddleware has returned, so its statement too is only
    covered here. A cut connection ends the download with an error, never as a short file
    that looks whole. About 2 us a row.
    """
    if connection.vendor != "postgresql":
        yield from rows
        return
    db = connections[DEFAULT_DB_ALIAS]  # this thread's, looked up once
    seconds = settings.DB_QUERY_TIMEOUT_SECONDS
    steps = iter(rows)
    while True:
        pgconn = getattr(db.connection, "pgconn", None)
        if pgconn is None:  # not connected yet: the statement's execute() arms the deadline
            with db.execute_wrapper(_deadline_wrapper):
                try:
                    row = next(steps)
                except StopIteration:
                    return
        else:
            token = watchdog.watch(seconds, pgconn)
            try:
                row = next(steps)
            except StopIteration:
                return
            finally:
                watchdog.done(token)
        yield row


@contextmanager
def query_deadline() -> Iterator[None]:
    """Every query of this thread's default connection, inside, gets the deadline."""
    if connection.vendor != "postgresql":  # SQLite: a file, with its own busy timeout
        yield
        return
    with connection.execute_wrapper(_deadline_wrapper):
        yield


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 for a page while the database is out: rendered without the database.

    In the user's language if LanguageMiddleware got to read it; else (the database failed
    while the session or user was read) the language cookie, kept by the switcher, or the
    browser's: never whatever this thread translated last.
    """
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(
        request
    )
    with translation.override(language):
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = "5"
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


# Set on a request whose handling lost the database (got_request_exception below).
_LOST = "orderreport.database_lost"


class DeadlineMiddleware:
    """Pages with a query deadline, and a 503 (not a 500) when the database is out.

    A lost database may surface in a view or in a middleware that reads the session or the
    user before it (then Django has already made the exception a 500 by the time the
    response comes back here): got_request_exception marks the request in both cases.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_note_lost, dispatch_uid="orderreport.dbdeadline")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with query_deadline():
            response = self.get_response(request)
        if request.META.get(_LOST):
            return unavailable(request)
        if db_outage.ongoing and response.status_code < 500:
            db_outage.succeeded()
        return response


def _note_lost(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DatabaseError) and _connection_lost(exc):
        request.META[_LOST] = True
        db_outage.failed(f"{request.method} {request.path}", exc)


class SkipLostDatabase(logging.Filter):
    """Keeps django.request's "Internal Server Error" traceback out of the log for a request
    that lost the database: db_outage logs the outage once, not once per request."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return not (request is not None and getattr(request, "META", {}).get(_LOST))


def _connection_lost(exc: DatabaseError) -> bool:
    """An error of reaching PostgreSQL (refused, cut, closed), not of a query's content."""
    if connection.vendor != "postgresql":
        return False
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", True) or getattr(raw, "broken", True))
