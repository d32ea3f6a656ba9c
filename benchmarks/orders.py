"""Load benchmark of POST /api/orders/track against a do-nothing baseline, on PostgreSQL.

Run it from the repository root with the project's virtualenv (`make bench` does):

    .venv/bin/python benchmarks/orders.py [--rounds 3] [--duration 15] [--no-record]

It recreates the database `orderreport_bench`, migrates it, creates a bench account on the
`unlimited` plan (project, domain, API key) with the project's own functions, starts
`orderreport serve` on a free loopback port with Redis and the baseline view mounted, warms
up, then runs `wrk` at 64 connections against the baseline and the order endpoint, alternating
which goes first, for the same duration each round. Every request carries the guide's example
body with a unique order id. Afterwards it checks that the database holds exactly as many
orders as 201 answers were counted and that nothing else was answered, reads each web
process's memory, and writes a section into benchmarks/RESULTS.md.

Everything stays on 127.0.0.1; every run is bounded in time and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# The worktree's package, not whatever an editable install elsewhere points to.
sys.path.insert(0, str(ROOT))

from orderreport.examples import GUIDE_ORDER  # noqa: E402

ORDER_PATH = "/api/orders/track"
BASELINE_PATH = "/bench/baseline"
ORIGIN = "https://example.com"

# The guide's example order (integration-guide.txt, "Send order"); %s becomes a unique id.
BODY_TEMPLATE = json.dumps({**GUIDE_ORDER, "id": "%s"}, ensure_ascii=False)

# wrk's script: a unique id per request (run tag, wrk thread, counter), every answer's status
# counted, and one JSON line with the totals and latency percentiles at the end.
WRK_LUA = r"""
local threads = {}
local tag = "run"
counter = 0
n201 = 0
nother = 0
other = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  tag = (args[1] or "run") .. "-" .. tostring(tid) .. "-"
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("BENCH_API_KEY")
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
local template = [==[__TEMPLATE__]==]

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format(template, tag .. counter))
end

function response(status, headers, body)
  if status == 201 then
    n201 = n201 + 1
  else
    nother = nother + 1
    if #other < 300 then other = other .. status .. ":" .. body:sub(1, 80) .. " | " end
  end
end

function done(summary, latency, requests)
  local c201, cother, sent, samples = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    sent = sent + t:get("counter")
    c201 = c201 + t:get("n201")
    cother = cother + t:get("nother")
    samples = samples .. t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "n201": %d, "nother": %d, "sent": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "samples": %q}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, c201, cother, sent,
    e.connect, e.read, e.write, e.status, e.timeout, samples))
end
"""


@dataclass
class Run:
    target: str
    round: int
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    n201: int
    nother: int
    socket_errors: int
    samples: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class Summary:
    runs: list[Run] = field(default_factory=list)

    def of(self, target: str) -> list[Run]:
        return [r for r in self.runs if r.target == target]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="baseline/endpoint pairs (default 3)")
    p.add_argument("--duration", type=int, default=15, help="seconds per wrk run (default 15)")
    p.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per target")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=None, help="orderreport serve --workers")
    p.add_argument("--threads", type=int, default=None, help="orderreport serve --threads")
    p.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    p.add_argument("--database", default="orderreport_bench")
    p.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    p.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    p.add_argument("--note", default="", help="a line to add to the recorded section")
    args = p.parse_args()
    if not (1 <= args.rounds <= 20 and 1 <= args.duration <= 120 and 0 <= args.warmup <= 60):
        p.error("rounds 1-20, duration 1-120 s, warm-up 0-60 s")
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database(pg_url: str, name: str) -> None:
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"bad database name {name!r}")
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def prepare(env: dict[str, str]) -> tuple[str, int]:
    """Migrate and create the bench tenant in this process; return (API key, project id)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from orderreport.accounts.models import User
    from orderreport.accounts.services import create_account, get_plan
    from orderreport.projects.models import ApiKey, Domain, Project

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", secrets.token_urlsafe(16))
    account = create_account(user, "Bench", plan=get_plan("unlimited"))
    project = Project.objects.create(account=account, name="Bench shop")
    Domain.objects.create(project=project, host="example.com")
    key = ApiKey.objects.create(project=project, name="Bench")
    connections.close_all()
    return key.key, project.pk


def count_orders(project_id: int) -> int:
    from django.db import connections

    from orderreport.orders.models import Order

    n = Order.objects.filter(project_id=project_id).count()
    connections.close_all()
    return n


def server_info() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cur:
        info = {}
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            cur.execute(f"SHOW {name}")
            info[name] = cur.fetchone()[0]
    return info


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"orderreport serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit("orderreport serve did not become ready")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory(pid: int) -> dict[str, Any]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return {
        "pid": pid,
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "hwm_mb": int(fields["VmHWM"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "cmd": cmd[:80],
    }


def run_wrk(args: argparse.Namespace, base: str, path: str, tag: str, seconds: int,
            script: Path, env: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    cmd = [
        "wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s",
        "--timeout", "10s", "-s", str(script), base + path, "--", tag,
    ]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line.removeprefix("BENCH_JSON ")))
    raise SystemExit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")


def count_orders_run(tally: dict[str, int], raw: dict[str, Any]) -> None:
    tally["n201"] += raw["n201"]
    tally["sent"] += raw["sent"]
    tally["runs"] += 1


def to_run(target: str, rnd: int, raw: dict[str, Any]) -> Run:
    return Run(
        target=target,
        round=rnd,
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        n201=raw["n201"],
        nother=raw["nother"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        samples=raw["samples"],
    )


def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    return (
        f"{os.cpu_count()} cores ({model}), {int(mem) // 1024 // 1024} GiB, {platform.platform()}"
    )


def git_rev() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    limits = "1000000000"  # checked on every request, never reached
    env = {
        "DATABASE_URL": f"{args.pg_url}/{args.database}",
        "REDIS_URL": args.redis_url,
        # A fresh namespace: no cached keys or rate-limit counters from another run or helper.
        "CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        "BENCHMARK_BASELINE": "true",
        "RATE_LIMITS_ENABLED": "true",
        "RATE_LIMIT_KEY_PER_SECOND": limits,
        "RATE_LIMIT_KEY_BURST": limits,
        "RATE_LIMIT_IP_PER_SECOND": limits,
        "RATE_LIMIT_IP_BURST": limits,
        "DJANGO_SETTINGS_MODULE": "orderreport.settings",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    }
    print(f"recreating database {args.database}", flush=True)
    recreate_database(args.pg_url, args.database)
    api_key, project_id = prepare(env)
    pg = server_info()

    serve = [sys.executable, "-m", "orderreport", "serve", "--port", str(port)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    if args.threads:
        serve += ["--threads", str(args.threads)]
    server_env = {**os.environ, **env}
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "serve.log", "w+b")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(serve, cwd=ROOT, env=server_env, stdout=log, stderr=log,
                                start_new_session=True)  # fmt: skip
        try:
            wait_ready(base, proc)
            log.seek(0)
            banner = log.read().decode(errors="replace").splitlines()[:1]
            script = Path(tmp) / "orders.lua"
            script.write_text(WRK_LUA.replace("__TEMPLATE__", BODY_TEMPLATE), encoding="utf-8")
            wrk_env = {**os.environ, "BENCH_API_KEY": api_key, "BENCH_ORIGIN": ORIGIN}
            summary = Summary()
            run_tag = secrets.token_hex(3)
            targets = {"baseline": BASELINE_PATH, "orders": ORDER_PATH}
            tally = {"n201": 0, "sent": 0, "runs": 0}  # every order-endpoint run
            if args.warmup:
                print(f"warming up {args.warmup}s per target", flush=True)
                for name, path in targets.items():
                    raw = run_wrk(args, base, path, f"{run_tag}-w-{name}", args.warmup, script,
                                  wrk_env)  # fmt: skip
                    if name == "orders":
                        count_orders_run(tally, raw)
            load_before = os.getloadavg()
            for rnd in range(1, args.rounds + 1):
                order = list(targets.items())
                if rnd % 2 == 0:  # alternate who goes first: drift hits both alike
                    order.reverse()
                for name, path in order:
                    raw = run_wrk(args, base, path, f"{run_tag}-{rnd}-{name}", args.duration,
                                  script, wrk_env)  # fmt: skip
                    run = to_run(name, rnd, raw)
                    summary.runs.append(run)
                    if name == "orders":
                        count_orders_run(tally, raw)
                    print(
                        f"round {rnd} {name:8} {run.rps:8.0f} req/s  p50 {run.p50_ms:6.1f} ms  "
                        f"p99 {run.p99_ms:6.1f} ms  non-201 {run.nother}  "
                        f"socket errors {run.socket_errors}",
                        flush=True,
                    )
            mem = [memory(p) for p in descendants(proc.pid) if Path(f"/proc/{p}").exists()]
        except BaseException:
            stop(proc)
            log.seek(0)
            print("--- server log tail ---\n" + log.read().decode(errors="replace")[-3000:])
            raise
        finally:
            stop(proc)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            log.close()
    stored = count_orders(project_id)
    verdict = report(args, summary, mem, stored, tally, pg, banner, load_before)
    if any(r.nother or r.socket_errors for r in summary.runs) and tail.strip():
        print("--- server log tail ---\n" + tail)
    return 0 if verdict else 1


def report(args: argparse.Namespace, summary: Summary, mem: list[dict[str, Any]], stored: int,
           tally: dict[str, int], pg: dict[str, str], banner: list[str],
           load_before: tuple[float, float, float]) -> bool:  # fmt: skip
    base_runs, order_runs = summary.of("baseline"), summary.of("orders")
    b_rps = sum(r.requests for r in base_runs) / sum(r.seconds for r in base_runs)
    o_rps = sum(r.requests for r in order_runs) / sum(r.seconds for r in order_runs)
    ratio = o_rps / b_rps
    ratios = [
        o.rps / b.rps for o, b in zip(order_runs, base_runs, strict=True)
    ]  # per round, same conditions
    o_p99 = max(r.p99_ms for r in order_runs)
    non201 = sum(r.nother for r in summary.runs)
    sock = sum(r.socket_errors for r in summary.runs)
    web = [m for m in mem if "granian" in m["cmd"] or "orderreport" in m["cmd"]]
    max_rss = max((m["rss_mb"] for m in web), default=0.0)
    # wrk stops on the clock with up to one request per connection in flight; the server
    # still commits those, so the database may hold a few more orders than 201s were read,
    # never fewer, never more than were sent.
    in_flight = stored - tally["n201"]
    lost_ok = 0 <= in_flight <= min(tally["sent"] - tally["n201"], args.connections * tally["runs"])
    ok = ratio >= 0.40 and o_p99 < 60 and non201 == 0 and sock == 0 and lost_ok and max_rss < 150

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Run of {now}",
        "",
        f"- Machine: {machine()}; load average before the timed rounds "
        f"{load_before[0]:.2f} (the machine is shared, so compare the ratio, not raw numbers).",
        f"- Code: `{git_rev()}`; Python {platform.python_version()}; PostgreSQL "
        f"{pg['server_version']} (fsync={pg['fsync']}, synchronous_commit="
        f"{pg['synchronous_commit']}, shared_buffers={pg['shared_buffers']}) and Redis "
        "on loopback.",
        f"- Server: {banner[0] if banner else 'orderreport serve'}; rate limits on (raised, "
        "never reached); key lookup through Redis.",
        f"- Load: wrk, {args.connections} connections, {args.wrk_threads} threads, "
        f"{args.rounds} rounds x {args.duration} s per target after {args.warmup} s of warm-up, "
        "alternating which target goes first; the guide's example body with a unique id.",
    ]
    if args.note:
        lines.append(f"- Note: {args.note}")
    lines += [
        "",
        "| round | target | requests/s | p50 ms | p90 ms | p99 ms | max ms | non-201 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in summary.runs:
        lines.append(
            f"| {r.round} | {r.target} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | "
            f"{r.p99_ms:.1f} | {r.max_ms:.1f} | {r.nother + r.socket_errors} |"
        )
    lines += [
        "",
        f"- **Ratio (order endpoint / baseline requests/s): {ratio:.2f}** "
        f"({o_rps:.0f} / {b_rps:.0f}; per round "
        + ", ".join(f"{x:.2f}" for x in ratios)
        + f"; median {statistics.median(ratios):.2f}). Target >= 0.40.",
        f"- **Order endpoint p99: {o_p99:.1f} ms** (worst round). Target < 60 ms.",
        f"- Orders in the database: {stored}; 201 answers read: {tally['n201']}; requests "
        f"sent: {tally['sent']} ({'no order lost: ' if lost_ok else 'MISMATCH: '}{in_flight} "
        "committed orders were still in flight when wrk stopped). "
        f"Non-201 answers: {non201}; "
        f"socket errors and timeouts: {sock}.",
        "- Memory after the run (VmRSS, peak VmHWM): "
        + "; ".join(
            f"pid {m['pid']} {m['rss_mb']:.0f} MB (peak {m['hwm_mb']:.0f}, {m['threads']} threads)"
            for m in web
        )
        + ". Target < 150 MB per process.",
        f"- Verdict: {'target met' if ok else 'target NOT met'}.",
        "",
    ]
    section = "\n".join(lines)
    print("\n" + section)
    if not args.no_record:
        head = (
            RESULTS.read_text(encoding="utf-8")
            if RESULTS.exists()
            else "# Order endpoint benchmark results\n\nHow to run: README.md. Newest first.\n\n"
        )
        marker = "## Run of "
        idx = head.find(marker)
        new = (head[:idx] + section + "\n" + head[idx:]) if idx >= 0 else (head + section)
        RESULTS.write_text(new, encoding="utf-8")
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
