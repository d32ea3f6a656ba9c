"""Reports benchmark: server time of a period's figures (the overview page, the reports API
and the digest all call reports.figures.report) on 1,000,000 orders over 90 days in one
project on PostgreSQL, and 100,000 on SQLite.

Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/reports.py [--pg-orders 1000000] [--sqlite-orders 100000]
                                           [--rounds 15] [--no-record]

For each database it creates a scratch database (PostgreSQL `orderreport_bench_reports` at
BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432; SQLite var/bench-reports.sqlite3),
migrates it, fills one project with orders spread evenly over 90 days (two currencies, all
seven statuses, 1-3 of 200 products each) and 100,000 event records of three events, then
builds the tallies with orders.tallies.rebuild (what the migration does; the worker keeps
them compacted the same way in production).

Timed, in-process, each the median and worst of --rounds calls after two warm-up calls:
- report() for the last 90 days by day (the target), 30 days by day, today by hour, and 90
  days by month for the account (the API's longest usual question);
- the overview page itself (GET /projects/<id>/?period=90d as the owner, the whole view
  and its template), when the page exists;
- the baseline, measured in the same run: one plain aggregate over the same 90 days of orders
  (`SELECT count(*), sum(total) ... WHERE project AND received_at in range`), the least a
  report without tallies would cost. Ratios are report / baseline: the machine is shared,
  so compare ratios between runs, not milliseconds.

Targets (issue 10): 90 days < 300 ms on PostgreSQL with 1M orders, < 1 s on SQLite with 100k,
judged on the median call (the worst call on a shared machine measures its neighbours; it is
recorded too).
Results are appended to benchmarks/RESULTS.md under "Reports"; the scratch databases are
dropped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
sys.path.insert(0, str(ROOT))

PG_DB = "orderreport_bench_reports"
SQLITE_FILE = ROOT / "var" / "bench-reports.sqlite3"
TARGET_MS = {"postgresql": 300.0, "sqlite": 1000.0}
DAYS = 90
RECORDS = 100_000


def recreate_pg(pg: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{PG_DB}"')


def order_rows(count: int, end: dt.datetime) -> Any:
    """The orders, deterministic: spread over DAYS days ending at `end`."""
    step = DAYS * 86400 / count
    statuses = ["new", "confirmed", "paid", "shipped", "completed", "cancelled", "refunded"]
    for n in range(count):
        products = [
            {"name": f"Product {(n * 7 + k * 13) % 200}", "price": 100 + (n + k) % 5000,
             "count": 1 + (n + k) % 3}
            for k in range(1 + n % 3)
        ]  # fmt: skip
        yield (
            f"bench-{n}",
            sum(p["price"] * p["count"] for p in products),
            "USD" if n % 10 == 0 else "RUB",
            products,
            end - dt.timedelta(seconds=n * step),
            statuses[n % 7],
        )


def fill(project_id: int, event_ids: list[int], count: int, end: dt.datetime) -> None:
    import orjson
    from django.db import connection, transaction

    from orderreport.events.models import EventRecord
    from orderreport.orders.models import Order

    sql = (
        f"INSERT INTO {Order._meta.db_table} (project_id, external_id, total, currency, "
        "username, email, phone, products, data, origin, user_agent, received_at, status) "
        "VALUES (%s, %s, %s, %s, '', '', '', %s, '[]', '', '', %s, %s)"
    )
    batch: list[Any] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET synchronous_commit = off")
        when = connection.ops.adapt_datetimefield_value  # naive UTC text on SQLite
        for external_id, total, currency, products, at, status in order_rows(count, end):
            batch.append((project_id, external_id, total, currency,
                          orjson.dumps(products).decode(), when(at), status))  # fmt: skip
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch.clear()
        cursor.executemany(sql, batch)
        records = [
            (project_id, event_ids[n % len(event_ids)],
             when(end - dt.timedelta(seconds=n * DAYS * 86400 / RECORDS)))
            for n in range(RECORDS)
        ]  # fmt: skip
        cursor.executemany(
            f"INSERT INTO {EventRecord._meta.db_table} (project_id, event_id, data, origin, "
            "user_agent, received_at) VALUES (%s, %s, '[]', '', '', %s)",
            records,
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def timed(call: Callable[[], Any], rounds: int) -> dict[str, float]:
    for _ in range(2):
        call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(times), "max": max(times)}


def run_database(label: str, orders: int, rounds: int) -> dict[str, Any]:
    """Set up, fill and time one database (DATABASE_URL is set by the caller)."""
    import django

    django.setup()
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Sum
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from orderreport.accounts.models import User
    from orderreport.accounts.services import create_account, get_plan
    from orderreport.events import tallies as event_tallies
    from orderreport.orders import tallies
    from orderreport.orders.models import Order, OrderTally
    from orderreport.projects.models import Event, Project
    from orderreport.reports.figures import Period, report

    call_command("migrate", interactive=False, verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password-123")
    account = create_account(user, "Bench", plan=get_plan("unlimited"))
    project = Project.objects.create(account=account, name="Bench", timezone="Europe/Moscow")
    events = [Event.objects.create(project=project, name=f"Form {n}") for n in range(3)]
    zone = ZoneInfo(project.timezone)
    today = dt.datetime.now(zone).date()
    end = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    fill(project.pk, [e.pk for e in events], orders, end)
    filled = time.monotonic() - started
    started = time.monotonic()
    tallies.rebuild([project.pk])
    event_tallies.rebuild([project.pk])
    rebuilt = time.monotonic() - started
    tally_rows = OrderTally.objects.filter(project=project).count()
    print(f"{label}: {orders:,} orders filled in {filled:.0f} s, tallies built in "
          f"{rebuilt:.0f} s ({tally_rows:,} order tally rows)", flush=True)  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"  # type: ignore[index]
    else:
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"

    ninety = Period(today - dt.timedelta(days=DAYS - 1), today, zone)
    span = Order.objects.filter(project=project, received_at__gte=ninety.start,
                                received_at__lt=ninety.end)  # fmt: skip
    in_range = span.count()
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("baseline: one plain aggregate over the 90 days' orders",
         lambda: span.aggregate(Count("id"), Sum("total"))),
        ("report, last 90 days by day", lambda: report([project.pk], ninety, "day")),
        ("report, last 30 days by day",
         lambda: report([project.pk], Period(today - dt.timedelta(days=29), today, zone), "day")),
        ("report, today by hour", lambda: report([project.pk], Period(today, today, zone))),
        ("report, last 90 days by month", lambda: report([project.pk], ninety, "month")),
    ]  # fmt: skip
    try:
        url = reverse("reports:overview", args=[project.pk])
    except NoReverseMatch:
        url = None
    if url is not None:
        from urllib.parse import urlsplit

        from django.conf import settings

        # The page as served: the installation's own host name passes ALLOWED_HOSTS.
        client = Client(HTTP_HOST=urlsplit(settings.BASE_URL).netloc)
        client.force_login(user)

        def page() -> None:
            response = client.get(url, {"period": "90d"})
            assert response.status_code == 200, response.status_code

        cases.append(("overview page, last 90 days (whole view)", page))
    results = {name: timed(call, rounds) for name, call in cases}
    for name, r in results.items():
        print(f"  {name}: p50 {r['p50']:.1f} ms, max {r['max']:.1f} ms", flush=True)
    return {
        "label": label,
        "vendor": connection.vendor,
        "version": version,
        "orders": orders,
        "in_range": in_range,
        "tally_rows": tally_rows,
        "results": results,
    }


def child(args: argparse.Namespace) -> None:
    """One database per process: Django is set up once per process."""
    import json

    orders = args.pg_orders if args.child == "postgresql" else args.sqlite_orders
    label = "PostgreSQL" if args.child == "postgresql" else "SQLite"
    out = run_database(label, orders, args.rounds)
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-orders", type=int, default=1_000_000)
    parser.add_argument("--sqlite-orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--child", choices=["postgresql", "sqlite"])
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import json

    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    runs = []
    for vendor in ("postgresql", "sqlite"):
        env = {**os.environ, "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "orderreport.settings"}
        if vendor == "postgresql":
            recreate_pg(pg)
            env["DATABASE_URL"] = f"{pg}/{PG_DB}"
        else:
            SQLITE_FILE.parent.mkdir(exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
            env["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", vendor, "--pg-orders", str(args.pg_orders),
                 "--sqlite-orders", str(args.sqlite_orders), "--rounds", str(args.rounds)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
        finally:
            if vendor == "postgresql":
                recreate_pg(pg, drop_only=True)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"{vendor} run failed")
        (line,) = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        runs.append(json.loads(line[len("RESULT ") :]))
    verdicts = []
    for run in runs:
        target = TARGET_MS[run["vendor"]]
        # The median: on a shared two-core machine the worst call measures the neighbours.
        p50 = run["results"]["report, last 90 days by day"]["p50"]
        verdicts.append((run["label"], p50 < target, p50, target))
    for label, ok, p50, target in verdicts:
        print(f"{label}: 90 days p50 {p50:.0f} ms, target < {target:.0f} ms: "
              f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    if not args.no_record:
        record(runs, verdicts)


def record(runs: list[dict[str, Any]], verdicts: list[tuple[str, bool, float, float]]) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    code = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "",
        f"## Reports (run of {now})",
        "",
        f"Recorded by `benchmarks/reports.py` (code `{code}`), Python "
        f"{platform.python_version()}, {os.cpu_count()} cores; load average at the end: "
        f"{load} (the machine is shared: compare ratios). Orders spread evenly over 90 days "
        "in one project (two currencies, seven statuses, 1-3 of 200 products each) and "
        f"{RECORDS:,} event records; tallies compacted (as the worker keeps them). In-process, "
        "median and worst of the timed calls after two warm-up calls. Baseline: one plain "
        "`count(*), sum(total)` over the same 90 days' orders, in the same run.",
        "",
    ]
    for run in runs:
        base = run["results"]["baseline: one plain aggregate over the 90 days' orders"]["p50"]
        lines += [
            f"**{run['label']}** ({run['version']}): {run['orders']:,} orders, "
            f"{run['in_range']:,} in the 90 days, {run['tally_rows']:,} order tally rows.",
            "",
            "| call | p50 ms | max ms | p50 / baseline |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, r in run["results"].items():
            ratio = "" if name.startswith("baseline") else f"{r['p50'] / base:.2f}"
            lines.append(f"| {name} | {r['p50']:.1f} | {r['max']:.1f} | {ratio} |")
        lines.append("")
    for label, ok, p50, target in verdicts:
        lines.append(
            f"- {label}: 90 days by day, median {p50:.0f} ms against a target of "
            f"< {target:.0f} ms: **{'PASS' if ok else 'FAIL'}**"
        )
    with RESULTS.open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
