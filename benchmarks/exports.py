"""Export benchmark: peak memory and time of the order export (CSV of 1,000,000 orders,
XLSX of 100,000), in-process.

Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/exports.py [--orders 1000000] [--xlsx-orders 100000] [--no-record]

It recreates the PostgreSQL database `orderreport_bench_export` (BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432), migrates it, creates two projects and fills them in one
INSERT ... SELECT generate_series each (two products and two data pairs per order), then
calls the export view (`orders.views.order_export`, a RequestFactory request as the owner)
and reads the whole streamed answer, counting bytes and rows. Memory is the process's
resident set: the baseline is VmRSS after the setup, the peak is VmHWM after the export
(reset before each export by writing 5 to /proc/self/clear_refs; where that is refused,
the peak is the process's whole-life maximum). Target (issue 10): the 1M CSV stays under
200 MB RSS. Results go into benchmarks/RESULTS.md under "Exports"; the database is dropped
at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
sys.path.insert(0, str(ROOT))

DB_NAME = "orderreport_bench_export"
TARGET_MB = 200.0
T_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def recreate_database(pg: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def setup_django(pg: str) -> None:
    os.environ["DATABASE_URL"] = f"{pg}/{DB_NAME}"
    os.environ["REDIS_URL"] = ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "orderreport.settings"
    import django

    django.setup()


def fill(project_id: int, count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            """
            INSERT INTO orders_order (project_id, external_id, total, currency, username,
                email, phone, products, data, origin, user_agent, received_at, status)
            SELECT %s, 'bench-' || n, 2250,
                CASE WHEN n %% 100 = 0 THEN 'JPY' ELSE 'RUB' END,
                'Customer ' || n, 'c' || n || '@example.org', '+7 900 000 00 00',
                '[{"name": "Tea", "price": 500, "count": 2},
                  {"name": "Cup", "price": 1250, "count": 1}]',
                '[{"name": "Comment", "value": "ring twice"}, {"name": "City", "value": "Kazan"}]',
                'https://shop.example/cart', '', %s - n * interval '15 seconds',
                (ARRAY['new','confirmed','paid','shipped','completed','cancelled',
                       'refunded'])[1 + n %% 7]
            FROM generate_series(1, %s) AS n
            """,
            [project_id, T_END, count],
        )
        cursor.execute("ANALYZE orders_order")


def export(user: Any, project_id: int, params: dict[str, str]) -> dict[str, Any]:
    from django.test import RequestFactory

    from orderreport.orders.views import order_export

    request = RequestFactory().get(f"/projects/{project_id}/orders/export/", params)
    request.user = user
    exact = reset_peak()
    started = time.perf_counter()
    response = order_export(request, project_id)
    size = lines = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return {
        "seconds": time.perf_counter() - started,
        "bytes": size,
        "newlines": lines,
        "peak_mb": status_kb("VmHWM") / 1024,
        "exact_peak": exact,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--xlsx-orders", type=int, default=100_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    recreate_database(pg)
    try:
        setup_django(pg)
        from django.core.management import call_command
        from django.db import connection

        from orderreport.accounts.models import User
        from orderreport.accounts.services import create_account, get_plan
        from orderreport.projects.models import Project

        call_command("migrate", interactive=False, verbosity=0)
        user = User.objects.create_user("bench@example.com", "bench-password-123")
        account = create_account(user, "Bench", plan=get_plan("unlimited"))
        big = Project.objects.create(account=account, name="Bench CSV")
        small = Project.objects.create(account=account, name="Bench XLSX")
        started = time.monotonic()
        fill(big.pk, args.orders)
        fill(small.pk, args.xlsx_orders)
        print(f"filled in {time.monotonic() - started:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]  # type: ignore[index]

        baseline_mb = status_kb("VmRSS") / 1024
        runs = []
        for label, project, count, params in [
            ("CSV, one row per order", big, args.orders, {"format": "csv"}),
            ("CSV, one row per product", small, args.xlsx_orders, {"format": "csv", "lines": "1"}),
            ("XLSX, one row per order", small, args.xlsx_orders, {"format": "xlsx"}),
        ]:
            result = export(user, project.pk, params)
            result.update(label=label, orders=count)
            runs.append(result)
            print(
                f"{label}: {count} orders, {result['bytes'] / 2**20:.1f} MiB in "
                f"{result['seconds']:.1f} s, peak RSS {result['peak_mb']:.0f} MB "
                f"(baseline {baseline_mb:.0f} MB)",
                flush=True,
            )
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(pg, drop_only=True)

    csv_peak = runs[0]["peak_mb"]
    verdict = "PASS" if csv_peak < TARGET_MB else "FAIL"
    print(f"1M CSV peak {csv_peak:.0f} MB, target < {TARGET_MB:.0f} MB: {verdict}")
    if args.no_record:
        return
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    code = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    exact = all(r["exact_peak"] for r in runs)
    peak_note = "reset before each export" if exact else "whole-process peak: clear_refs refused"
    rows = "\n".join(
        f"| {r['label']} | {r['orders']:,} | {r['bytes'] / 2**20:.1f} | {r['seconds']:.1f} | "
        f"{baseline_mb:.0f} | {r['peak_mb']:.0f} | {r['peak_mb'] - baseline_mb:.0f} |"
        for r in runs
    )
    text = f"""
## Exports (run of {now})

- Code `{code}` plus the export change (uncommitted at the time), Python \
{platform.python_version()}, {os.cpu_count()} cores, PostgreSQL {pg_version}; the machine \
is shared.
- `benchmarks/exports.py`: orders with two products and two data pairs each; the export \
view called in-process, its streamed answer read to the end. Baseline: RSS after setup; \
peak: VmHWM during the export ({peak_note}).
- Target: the 1M-order CSV under {TARGET_MB:.0f} MB peak RSS: **{verdict}** ({csv_peak:.0f} MB).

| export | orders | MiB | seconds | baseline RSS MB | peak RSS MB | peak - baseline MB |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}
"""
    with RESULTS.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
