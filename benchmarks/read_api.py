"""Read API benchmark: GET /api/external/orders on 1,000,000 orders of one project.

Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/read_api.py [--orders 1000000] [--requests 20] [--no-record]

It recreates the PostgreSQL database `orderreport_bench_read` (BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432), migrates it, creates one project with a server key and
fills it with `--orders` orders in one INSERT ... SELECT generate_series (statuses spread
over all seven, a quarter of them changed since arrival, one in a hundred in USD), then
ANALYZEs the table.

No HTTP server is started: each request is a WSGI environ handed to the endpoint's whole
in-process answer, `ingest.read.respond_read(orders_answer, environ)` (key lookup from the
cache, rate limit, Origin rules, parameters, the query, JSON), which is what the Django view
wraps. The baseline is the same chain with a view that answers an empty page without a
query, so `page - baseline` is the query and serialisation of 50 orders. Timed, `--requests`
times each (after two warm-up requests): the first page, a page 90 % deep (900,000 orders) (via the
cursor, as a client paging through gets it), a status-filtered first page, a status-filtered
page deep in that status, a rare currency, and a recent `updated_since`. Target (issue 9):
under 100 ms for a page. Results go into benchmarks/RESULTS.md under "Read API"; the
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
sys.path.insert(0, str(ROOT))

DB_NAME = "orderreport_bench_read"
TARGET_MS = 100.0
T_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def setup_django(pg: str) -> None:
    os.environ["DATABASE_URL"] = f"{pg}/{DB_NAME}"
    os.environ["REDIS_URL"] = ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "orderreport.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.RATE_LIMITS_ENABLED = False


def recreate_database(pg: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def fill(count: int) -> tuple[int, str]:
    from django.core.management import call_command
    from django.db import connection

    from orderreport.accounts.models import User
    from orderreport.accounts.services import create_account, get_plan
    from orderreport.projects import services
    from orderreport.projects.models import Project

    call_command("migrate", interactive=False, verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password-123")
    account = create_account(user, "Bench", plan=get_plan("unlimited"))
    project = Project.objects.create(account=account, name="Bench")
    _key, raw = services.create_server_key(project, "Bench CRM")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        # One order a ~15 s apart back from T_END; statuses round-robin over all seven; every
        # fourth order changed a day after it arrived.
        cursor.execute(
            """
            INSERT INTO orders_order (project_id, external_id, total, currency, username,
                email, phone, products, data, origin, user_agent, received_at, status,
                updated_at)
            SELECT %s, 'bench-' || n, 1000 + n %% 50000,
                CASE WHEN n %% 100 = 0 THEN 'USD' ELSE 'RUB' END,
                'Customer ' || n, 'c' || n || '@example.org', '+7 900 000 00 00',
                '[{"name": "Tea", "price": 500, "count": 2}]',
                '[{"name": "Comment", "value": "ring twice"}]', '', '',
                %s - n * interval '15 seconds',
                (ARRAY['new','confirmed','paid','shipped','completed','cancelled',
                       'refunded'])[1 + n %% 7],
                CASE WHEN n %% 4 = 0 THEN %s - n * interval '15 seconds' + interval '1 day'
                END
            FROM generate_series(1, %s) AS n
            """,
            [project.pk, T_END, T_END, count],
        )
        cursor.execute("ANALYZE orders_order")
    print(f"filled {count} orders in {time.monotonic() - started:.1f} s", flush=True)
    return project.pk, raw


def environ(raw_key: str, query: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/external/orders",
        "QUERY_STRING": query,
        "HTTP_X_API_KEY": raw_key,
        "REMOTE_ADDR": "127.0.0.1",
    }


def timed(call: Callable[[], Any], requests: int) -> list[float]:
    for _ in range(2):
        call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def deep_cursor(project_id: int, depth: int, status: str = "") -> str:
    from orderreport.listing.queries import Cursor
    from orderreport.orders.models import Order

    qs = Order.objects.filter(project_id=project_id)
    if status:
        qs = qs.filter(status=status)
    row = qs.order_by("-received_at", "-id").only("id", "received_at")[depth]
    return Cursor.of(row).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()

    recreate_database(args.pg_url)
    try:
        setup_django(args.pg_url)
        rows = run(args)
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(args.pg_url, drop_only=True)
    if not args.no_record:
        record(args, rows)


def run(args: argparse.Namespace) -> list[tuple[str, list[float], int]]:
    import orjson
    from django.db import connection

    from orderreport.ingest.http import json_answer
    from orderreport.ingest.read import orders_answer, respond_read

    project_id, raw = fill(args.orders)
    depth = int(args.orders * 0.9)
    deep = deep_cursor(project_id, depth)
    deep_paid = deep_cursor(project_id, int(args.orders / 7 * 0.9), "paid")
    since = (T_END - dt.timedelta(hours=6)).isoformat().replace("+", "%2B")

    def baseline_view(info: Any, params: Any) -> Any:
        return json_answer({"orders": [], "next": None}, 200)

    cases = [
        ("baseline (checks, no query)", baseline_view, ""),
        ("first page", orders_answer, ""),
        (f"page {depth:,} deep (cursor)", orders_answer, f"cursor={deep}"),
        ("status=paid, first page", orders_answer, "status=paid"),
        ("status=paid, deep page (cursor)", orders_answer, f"status=paid&cursor={deep_paid}"),
        ("currency=USD (1 %), first page", orders_answer, "currency=USD"),
        ("updated_since 6 h ago", orders_answer, f"updated_since={since}"),
        ("first page, limit=500", orders_answer, "limit=500"),
    ]
    rows = []
    for name, view, query in cases:
        env = environ(raw, query)
        answer = respond_read(view, env)
        assert answer.status == 200, (name, answer.status, answer.body[:300])
        count = len(orjson.loads(answer.body)["orders"])
        times = timed(lambda view=view, env=env: respond_read(view, env), args.requests)
        rows.append((name, times, count))
        print(
            f"{name:36} rows={count:4} p50={statistics.median(times):7.2f} ms "
            f"max={max(times):7.2f} ms",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        rows_version = cursor.fetchone()
    args.pg_version = str(rows_version[0]).split(" on ")[0] if rows_version else "?"
    return rows


def record(args: argparse.Namespace, rows: list[tuple[str, list[float], int]]) -> None:
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    baseline = statistics.median(rows[0][1])
    lines = [
        "",
        f"## Read API (run of {now} UTC)",
        "",
        f"Recorded by `benchmarks/read_api.py` (code `{commit}` plus the read API, uncommitted "
        f"at the time), Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{args.pg_version} on loopback; load average at the end: {load} (the machine is "
        f"shared). {args.orders:,} orders in one project; in-process (no HTTP server): each "
        "request is the endpoint's whole answer (`respond_read`: key from the local-memory "
        "cache, checks, parameters, query, JSON) on a WSGI environ; the baseline is the same "
        f"chain answering an empty page without a query. {args.requests} requests each after "
        f"2 warm-up requests. Target: a page in under {TARGET_MS:.0f} ms.",
        "",
        "| request | rows | p50 ms | max ms | p50 minus baseline ms | result |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, times, count in rows:
        p50, worst = statistics.median(times), max(times)
        verdict = "" if name.startswith("baseline") else ("PASS" if worst < TARGET_MS else "FAIL")
        extra = "" if name.startswith("baseline") else f"{p50 - baseline:.2f}"
        lines.append(f"| {name} | {count} | {p50:.2f} | {worst:.2f} | {extra} | {verdict} |")
    text = RESULTS.read_text()
    RESULTS.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
