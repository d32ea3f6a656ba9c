"""Notification benchmark: accepted order -> webhook received, and one worker's throughput.

Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/notify.py [--rate 50] [--duration 20] [--burst 2000] [--no-record]

It recreates the PostgreSQL database `orderreport_bench_notify`, migrates it, creates an account
on the `unlimited` plan with a webhook channel pointing at a receiver in this process (on
loopback, so the operator settings OUTBOUND_ALLOW_PRIVATE and WEBHOOK_ALLOW_HTTP are set),
starts `orderreport serve` and one `orderreport worker`, then:

1. latency: posts orders at a steady rate and measures, per order, the time from the 201
   answer to the receiver having the webhook (p50, p99, max). Every order must arrive.
2. throughput: stops the worker, queues `--burst` deliveries, starts one worker with
   `--until-idle`, and counts deliveries per second between the first and the last arrival.

Results go into benchmarks/RESULTS.md under "Notifications". Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
sys.path.insert(0, str(ROOT))

DB_NAME = "orderreport_bench_notify"
PG = "postgres://postgres@127.0.0.1:5432"
ORIGIN = "https://example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """Records when each delivery arrived (monotonic clock) by delivery id and order id."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.by_order: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                payload = json.loads(body)
                with receiver.lock:
                    receiver.arrivals.setdefault(payload["delivery_id"], now)
                    if "order" in payload:
                        receiver.by_order.setdefault(payload["order"]["id"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "orderreport.settings"
    import django

    django.setup()


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def create_shop(receiver_url: str) -> tuple[str, int]:
    from django.core.management import call_command

    from orderreport.accounts.models import User
    from orderreport.accounts.services import create_account, get_plan
    from orderreport.notify.config import WebhookConfig, dump_config
    from orderreport.notify.models import Channel
    from orderreport.projects.models import ApiKey, Domain, Project

    call_command("migrate", interactive=False, verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password-123")
    account = create_account(user, "Bench", plan=get_plan("unlimited"))
    project = Project.objects.create(account=account, name="Bench")
    Domain.objects.create(project=project, host="example.com")
    key = ApiKey.objects.create(project=project, name="Bench")
    channel = Channel.objects.create(
        project=project,
        kind="webhook",
        name="Bench receiver",
        config=dump_config(WebhookConfig(url=receiver_url)),
    )
    return key.key, channel.pk


def wait_for(url: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def post_order(base: str, key: str, order_id: str) -> int:
    body = json.dumps(
        {
            "id": order_id,
            "total": 99000,
            "currency": "RUB",
            "username": "john_doe",
            "products": [
                {
                    "name": "Sneakers X",
                    "price": 99000,
                    "count": 1,
                    "image": "https://example.com/x.jpg",
                }
            ],
        }
    ).encode()
    request = urllib.request.Request(
        base + "/api/orders/track",
        data=body,
        headers={"Content-Type": "application/json", "X-API-KEY": key, "Origin": ORIGIN},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))
    return ordered[index]


def latency(
    base: str, key: str, receiver: Receiver, rate: float, duration: float
) -> dict[str, Any]:
    accepted: dict[str, float] = {}
    interval = 1 / rate
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < duration:
        due = start + n * interval
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        order_id = f"lat-{n}"
        if post_order(base, key, order_id) != 201:
            raise SystemExit(f"order {order_id} was not accepted")
        accepted[order_id] = time.monotonic()
        n += 1
    end = time.monotonic() + 60
    while not set(accepted) <= set(receiver.by_order) and time.monotonic() < end:
        time.sleep(0.05)
    missing = set(accepted) - set(receiver.by_order)
    if missing:
        raise SystemExit(f"{len(missing)} orders never reached the receiver")
    delays = [(receiver.by_order[o] - t) * 1000 for o, t in accepted.items()]
    return {
        "orders": len(accepted),
        "p50": percentile(delays, 50),
        "p99": percentile(delays, 99),
        "max": max(delays),
        "mean": statistics.fmean(delays),
    }


def throughput(
    channel_id: int, receiver: Receiver, env: dict[str, str], burst: int
) -> dict[str, Any]:
    from django.utils import timezone

    from orderreport.notify.models import Delivery

    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(channel_id=channel_id, topic="test", next_attempt_at=now, created=now)
        for _ in range(burst)
    )
    before = set(receiver.arrivals)
    worker = subprocess.Popen(
        [sys.executable, "-m", "orderreport", "worker", "--until-idle", "--batch-size", "50"],
        env=env,
        cwd=ROOT,
    )
    worker.wait(timeout=600)
    times = sorted(t for d, t in receiver.arrivals.items() if d not in before)
    if len(times) != burst:
        raise SystemExit(f"{burst - len(times)} deliveries missing after the worker exited")
    span = times[-1] - times[0]
    return {"deliveries": burst, "seconds": span, "per_second": (burst - 1) / span}


def record(lat: dict[str, Any], thr: dict[str, Any], args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    section = f"""## Notifications

Recorded {dt.date.today().isoformat()} by `benchmarks/notify.py` on {os.cpu_count()} CPUs ({cpu}),
PostgreSQL on loopback, one `orderreport serve` process, one worker
(NOTIFY_POLL_SECONDS={args.poll}), webhook receiver on loopback. Load average at the end:
{load} (the machine is shared; compare runs on one machine only).

| measure | value |
| --- | --- |
| accepted order → webhook received, p50 | {lat["p50"]:.0f} ms |
| accepted order → webhook received, p99 | {lat["p99"]:.0f} ms |
| accepted order → webhook received, max | {lat["max"]:.0f} ms |
| orders at a steady {args.rate:g}/s for {args.duration:g} s | {lat["orders"]} (all delivered) |
| one worker, {thr["deliveries"]} queued webhooks | {thr["per_second"]:.0f} deliveries/s |

Latency is dominated by the idle worker's poll interval (it looks for due deliveries every
NOTIFY_POLL_SECONDS; 1 s by default, so expect p50 ≈ half of it plus the send).
"""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    text = re.sub(r"\n## Notifications\n.*?(?=\n## |\Z)", "\n", text, flags=re.S).rstrip()
    RESULTS.write_text(text + "\n\n" + section)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="orders per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of steady load")
    parser.add_argument("--burst", type=int, default=2000, help="deliveries for throughput")
    parser.add_argument("--poll", type=float, default=0.1, help="worker poll interval (s)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    receiver = Receiver()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CACHE_KEY_PREFIX": f"bench-notify-{os.getpid()}",
        "OUTBOUND_ALLOW_PRIVATE": "true",
        "WEBHOOK_ALLOW_HTTP": "true",
        "RATE_LIMITS_ENABLED": "false",
        "NOTIFY_POLL_SECONDS": str(args.poll),
        "STATIC_HASHED": "false",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    recreate_database()
    setup_django(env)
    key, channel_id = create_shop(receiver.url)
    base = f"http://127.0.0.1:{port}"
    cli = [sys.executable, "-m", "orderreport"]
    server = subprocess.Popen([*cli, "serve", "--workers", "1"], env=env, cwd=ROOT)
    worker = subprocess.Popen([*cli, "worker"], env=env, cwd=ROOT)
    try:
        wait_for(base + "/healthz")
        for n in range(20):  # warm up the server, the worker and the receiver
            post_order(base, key, f"warm-{n}")
        time.sleep(2)
        lat = latency(base, key, receiver, args.rate, args.duration)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        from django.db import connection

        connection.close()
        thr = throughput(channel_id, receiver, env, args.burst)
    finally:
        for proc in (worker, server):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(json.dumps({"latency_ms": lat, "throughput": thr}, indent=2))
    if not args.no_record:
        print(record(lat, thr, args))


if __name__ == "__main__":
    main()
