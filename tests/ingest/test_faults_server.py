"""Fault injection around the request thread and the server process: a request thread's
database connection killed while Redis is down, the database unreachable for a while, Redis
down altogether, and SIGTERM while orders are queued in the batch writer of a real server.

Writer-side faults (a lost COMMIT answer, locked tables): test_faults.py. Everything runs on
loopback against the real databases; timing assertions only prove that waits are bounded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from orderreport.accounts.models import Usage
from orderreport.orders.models import Order
from tests.conftest import CACHE_KEY_PREFIX, Api, Shop
from tests.ingest.tcp_proxy import TcpProxy

committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)
BOUND = 10.0  # seconds: far above any of these answers, far below "stuck"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there (connections are refused)


@pytest.fixture
def redis_down(settings: Any) -> None:
    """Redis unreachable: the cache and the admission script point at a dead loopback port,
    so every key lookup falls back to the database (lookup.py, admission.py)."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = dead  # resets the limiter and the admission script (ratelimit.py)
    settings.CACHES = {
        "default": {
            "BACKEND": "orderreport.cache.ResilientRedisCache",
            "LOCATION": dead,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - start


def outage_lines(caplog: pytest.LogCaptureFixture, logger: str, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and words in r.getMessage()]


def raw_connect() -> psycopg.Connection[Any]:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        connect_timeout=5,
        autocommit=True,
    )


def kill_this_threads_connection() -> None:
    """End this thread's PostgreSQL session from another connection (an admin, a restart)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with raw_connect() as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()
    assert row == (True,)


# --- 3. The request thread's connection dies while Redis is down -------------------------------


@pytest.mark.postgres
@committed
def test_a_killed_request_connection_costs_at_most_one_503_with_redis_down(
    api: Api, shop: Shop, redis_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    # The key is read from the database on every request (the cache is unreachable); this
    # thread serves every request, as a server's thread does with its persistent connection.
    response, seconds = timed(api.order, {"id": "before", "total": 1}, shop.key.key)
    assert response.status_code == 201, response.content
    assert seconds < BOUND
    kill_this_threads_connection()
    caplog.clear()
    caplog.set_level(logging.WARNING)
    first, seconds = timed(api.order, {"id": "k1", "total": 1}, shop.key.key)
    assert seconds < BOUND
    failed = first.status_code == 503
    if failed:
        assert first.json()["code"] == "unavailable"
        assert not Order.objects.filter(external_id="k1").exists()
    else:
        assert first.status_code == 201, first.content
    # The broken connection was closed: the next request opens a new one.
    second = api.order({"id": "k2", "total": 1}, shop.key.key)
    assert second.status_code == 201, second.content
    assert api.order({"id": "k1", "total": 1}, shop.key.key).status_code == (201 if failed else 409)
    logger = "orderreport.ingest.http"
    assert len(outage_lines(caplog, logger, "database unavailable")) == int(failed)
    assert len(outage_lines(caplog, logger, "database recovered")) == int(failed)


@pytest.mark.postgres
@committed
def test_a_database_gone_for_several_requests_is_logged_once_and_its_recovery_too(
    api: Api, shop: Shop, redis_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert api.order({"id": "before", "total": 1}, shop.key.key).status_code == 201
    db = connections.settings["default"]
    assert db is connection.settings_dict
    port = db["PORT"]
    kill_this_threads_connection()
    caplog.clear()
    caplog.set_level(logging.WARNING)
    db["PORT"] = str(free_port())  # this thread's next connections are refused
    try:
        for n in range(4):
            response, seconds = timed(api.order, {"id": f"gone-{n}", "total": 1}, shop.key.key)
            assert response.status_code == 503, response.content
            assert response.json()["code"] == "unavailable"
            assert response["Retry-After"] == "5"
            assert seconds < BOUND
    finally:
        db["PORT"] = port
    assert api.order({"id": "back", "total": 1}, shop.key.key).status_code == 201
    logger = "orderreport.ingest.http"
    assert len(outage_lines(caplog, logger, "database unavailable")) == 1
    recovered = outage_lines(caplog, logger, "database recovered")
    assert len(recovered) == 1
    assert "4 failed requests" in recovered[0]
    stored = set(Order.objects.values_list("external_id", flat=True))
    assert stored == {"before", "back"}


@committed
def test_redis_down_is_logged_once_not_with_every_request(
    api: Api, shop: Shop, redis_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    # outage.py: "logging each failure would bury the one line an operator needs under
    # thousands of copies". Orders go on (the database answers); the log must not grow with
    # them.
    caplog.set_level(logging.WARNING)
    counts = []
    for n in range(5):
        response, seconds = timed(api.order, {"id": f"r{n}", "total": 1}, shop.key.key)
        assert response.status_code == 201, response.content
        assert seconds < BOUND
        counts.append(sum(r.levelno >= logging.ERROR for r in caplog.records))
    lines = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert counts[-1] == counts[0], (counts, lines[: counts[0] + 3])


def redis_through(proxy: TcpProxy, settings: Any) -> None:
    """Point the cache, the rate limits and the admission script at `proxy`."""
    url = f"redis://127.0.0.1:{proxy.port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "orderreport.cache.ResilientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": getattr(django_settings, "REDIS_OPTIONS", {}),
        }
    }


@committed
def test_a_redis_outage_is_summed_up_once_a_minute_with_a_count_and_its_end_once(
    api: Api, shop: Shop, settings: Any, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    from orderreport.outage import cache_outage

    real = django_settings.REDIS_URL  # before redis_through() points it at the proxy
    # Connections are accepted and closed at once (the upstream port is dead): Redis down.
    proxy = TcpProxy(("127.0.0.1", free_port()))
    try:
        redis_through(proxy, settings)
        monkeypatch.setattr(cache_outage, "REPORT_SECONDS", 1.0, raising=False)  # "a minute"
        caplog.set_level(logging.INFO)
        for n in range(50):
            if n == 25:
                time.sleep(1.1)
            response = api.order({"id": f"down-{n}", "total": 1}, shop.key.key)
            assert response.status_code == 201, response.content
        records = [r for r in caplog.records if r.name == "orderreport.cache"]
        lines = [r.getMessage() for r in records]
        assert sum(r.exc_info is not None for r in records) == 1, lines  # the first only
        assert "cache (Redis) unavailable (" in lines[0]
        summaries = [m for m in lines if "requests served without it in the last" in m]
        assert 1 <= len(summaries) <= 3, lines
        assert all("unavailable since 20" in m for m in summaries)
        assert len(records) <= 4, lines
        if not real:
            return  # no real Redis in this run to come back
        parts = urlsplit(real)
        proxy.upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
        caplog.clear()
        time.sleep(1.2)  # the next request tries Redis again (Outage.RETRY_SECONDS)
        for n in range(5):
            response = api.order({"id": f"back-{n}", "total": 1}, shop.key.key)
            assert response.status_code == 201, response.content
        lines = [r.getMessage() for r in caplog.records if r.name == "orderreport.cache"]
        recovered = [m for m in lines if "cache (Redis) recovered after" in m]
        assert len(recovered) == 1, lines
        assert "requests served without it" in recovered[0]
        assert all(m in recovered or "served without it in the last" in m for m in lines), lines
    finally:
        cache_outage.succeeded()
        proxy.close()


# --- SQLite: the database write-locked elsewhere for long --------------------------------------


@committed
def test_orders_and_events_get_a_bounded_503_while_sqlite_is_write_locked_then_201(
    live_server: Any, shop: Shop, settings: Any
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's database-wide write lock (test_faults.py covers PostgreSQL)")
    from orderreport.ingest.writer import stop_writers

    settings.INGEST_WAIT_SECONDS = 2
    settings.INGEST_LOCK_TIMEOUT_MS = 300  # the writer's busy_timeout
    stop_writers()  # a writer with these settings
    url = live_server.url
    headers = {"X-API-KEY": shop.key.key, "Origin": shop.origin}
    event = {"event": shop.event.key, "data": []}

    def post(path: str, body: dict[str, Any]) -> tuple[Any, float]:
        return timed(httpx.post, f"{url}{path}", json=body, headers=headers, timeout=30)

    try:
        assert post("/api/orders/track", {"id": "warm", "total": 1})[0].status_code == 201
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # a backup, a long import in another process
        try:
            with ThreadPoolExecutor(max_workers=6) as pool:
                requests: list[tuple[str, dict[str, Any]]] = [
                    ("/api/orders/track", {"id": f"l{n}", "total": 1}) for n in range(3)
                ]
                requests += [("/api/events/track", event)] * 2
                answers = list(pool.map(lambda r: post(*r), requests))
                health = httpx.get(f"{url}/healthz", timeout=30)
        finally:
            holder.rollback()
            holder.close()
        for response, seconds in answers:
            assert response.status_code == 503, response.content
            assert response.json()["code"] == "unavailable"
            assert seconds < settings.INGEST_WAIT_SECONDS + 2
        assert health.status_code == 200  # readers are not held up (WAL)
        assert set(Order.objects.values_list("external_id", flat=True)) == {"warm"}
        assert post("/api/orders/track", {"id": "after", "total": 1})[0].status_code == 201
        assert post("/api/events/track", event)[0].status_code == 201
    finally:
        stop_writers()


# --- 4. SIGTERM while orders are queued in the writer ------------------------------------------

ORDERS = 20
HOLD_AFTER_SIGTERM = 0.5


def server_env(tmp_path: Path, port: int) -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        url = f"sqlite:///{Path(db['NAME']).resolve()}"
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_NAME"}
    env.update(
        DATABASE_URL=url,
        REDIS_URL=django_settings.REDIS_URL or "",
        CACHE_KEY_PREFIX=CACHE_KEY_PREFIX,
        ALLOWED_HOSTS="127.0.0.1",
        BASE_URL=f"http://127.0.0.1:{port}",
        STATIC_ROOT=str(tmp_path / "static"),
        STATIC_HASHED="false",
        SECRET_KEY="fault-injection-tests-only-" + "x" * 40,
        RATE_LIMITS_ENABLED="false",
        # The held lock must not time out the batch: the queue is what SIGTERM meets.
        INGEST_LOCK_TIMEOUT_MS="8000",
        INGEST_STATEMENT_TIMEOUT_MS="12000",
        INGEST_WAIT_SECONDS="10",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.contextmanager
def running_server(
    tmp_path: Path, threads: int = 16, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`orderreport serve` (one process), its URL and its log; `env` overrides server_env."""
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "orderreport", "serve", "--port", str(port),
             "--workers", "1", "--threads", str(threads)],
            env={**server_env(tmp_path, port), **env},
            cwd=django_settings.ROOT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers with it, and no terminal signals
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield server, url, log
    finally:
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@contextlib.contextmanager
def usage_row_held(shop: Shop) -> Iterator[None]:
    """Hold the account's usage row (PostgreSQL) or the write lock (SQLite) until exit."""
    start = shop.account.current_period()[0]
    assert Usage.objects.filter(account=shop.account, period_start=start).exists()
    if connection.vendor == "postgresql":
        holder: Any = raw_connect()
        holder.autocommit = False
        holder.execute(
            f"SELECT used FROM {Usage._meta.db_table} "  # noqa: S608 - a model's table name
            "WHERE account_id = %s AND period_start = %s FOR UPDATE",
            [shop.account.pk, start],
        )
    else:
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def writer_waiting_on_a_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # nothing to watch: SQLite's writer sleeps in its busy handler
    with raw_connect() as watcher:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


@committed
def test_sigterm_answers_every_queued_order_and_the_server_exits(
    shop: Shop, tmp_path: Path
) -> None:
    # What drains the queue here is granian, not writer.py's atexit hook: granian forks its
    # workers (multiprocessing's "fork" on Linux), a forked worker ends with os._exit, and
    # atexit handlers never run there. On SIGTERM the worker stops accepting and finishes
    # the requests in flight; each of those waits for its own item, so the queue empties.
    headers = {"X-API-KEY": shop.key.key, "Origin": shop.origin}
    with running_server(tmp_path) as (server, url, log):
        warm = httpx.post(f"{url}/api/orders/track", json={"id": "warm", "total": 1},
                          headers=headers, timeout=30)  # fmt: skip
        assert warm.status_code == 201, (warm.content, log.read_text())
        sent = threading.Barrier(ORDERS + 1)

        def send(n: int) -> Any:
            sent.wait(timeout=30)
            try:
                return httpx.post(f"{url}/api/orders/track", json={"id": f"q{n}", "total": 1},
                                  headers=headers, timeout=30)  # fmt: skip
            except httpx.HTTPError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=ORDERS) as pool:
            with usage_row_held(shop):
                futures = [pool.submit(send, n) for n in range(ORDERS)]
                sent.wait(timeout=30)
                deadline = time.monotonic() + BOUND
                while not writer_waiting_on_a_lock():
                    assert time.monotonic() < deadline, "the writer never waited for the row"
                    time.sleep(0.05)
                time.sleep(1.0)  # the other requests reach the writer's queue behind it
                assert not any(f.done() for f in futures)  # all of them still waiting
                stopping = time.monotonic()
                server.send_signal(signal.SIGTERM)
                time.sleep(HOLD_AFTER_SIGTERM)
            answers = [f.result() for f in futures]
        exited = True
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            exited = False
        took = time.monotonic() - stopping
        output = log.read_text()
    seen = [
        f"q{n}: " + (f"{a.status_code} {a.text[:80]}" if isinstance(a, httpx.Response) else repr(a))
        for n, a in enumerate(answers)
    ]
    stored = set(Order.objects.values_list("external_id", flat=True))
    report = "\n".join([*seen, f"stored: {sorted(stored)}", f"exit: {server.returncode} after "
                        f"{took:.1f} s", output[-3000:]])  # fmt: skip
    assert exited, report
    assert took < 20, report
    # On a loaded machine some requests have not reached the server when the signal comes:
    # refused, or reset while still in the kernel's accept queue. Those were never read, so
    # nothing of theirs may be stored; every request the server did read gets an answer.
    answered = [a for a in answers if isinstance(a, httpx.Response)]
    assert answered, report
    for n, answer in enumerate(answers):
        if not isinstance(answer, httpx.Response):
            assert isinstance(answer, httpx.ConnectError | httpx.RemoteProtocolError), report
            assert f"q{n}" not in stored, report  # a stored order always gets its answer
            continue
        assert answer.status_code in (201, 503), report
        if answer.status_code == 201:
            assert f"q{n}" in stored, report
        else:
            code = answer.json()["code"]
            assert code in ("unavailable", "outcome_unknown"), report
            if code == "unavailable":
                assert f"q{n}" not in stored, report
