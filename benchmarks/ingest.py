"""Load benchmark of the two tracking endpoints, each against a do-nothing baseline.

Run it from the repository root with the project's virtualenv (`make bench` does):

    .venv/bin/python benchmarks/ingest.py [--backend postgres|sqlite|all]
        [--endpoint orders|events|all] [--rounds 3] [--duration 15] [--no-record]

A scenario is a backend and an endpoint; by default all four run, in this order:

- PostgreSQL orders and events: the database `orderreport_bench` (dropped, recreated,
  migrated) and Redis, served by `orderreport serve` (one process per core);
- SQLite orders and events: a fresh SQLite file in a temporary directory and no Redis, as
  `make run` has it, so `orderreport serve` runs one process.

For each backend the script creates a bench account on the `unlimited` plan (project, domain,
API key, event) with the project's own functions, starts `orderreport serve` on a free loopback
port with the baseline view mounted, and for each endpoint warms up, then runs `wrk` at 64
connections against the baseline and the endpoint for the same duration each round,
alternating which goes first. Orders carry the guide's example order with a unique id; events
the guide's event body; the baseline gets the same body as the endpoint it is compared with.
After each scenario it checks that the database holds exactly as many orders (event records)
as 201 answers were counted and that nothing else was answered. Then it prints every figure
with PASS/FAIL against the targets, writes a section into benchmarks/RESULTS.md and exits
non-zero unless every scenario met them.

Everything stays on 127.0.0.1; every run is bounded in time and the servers are stopped at the
end, also on Ctrl-C, SIGTERM or an error.
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
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# The worktree's package, not whatever an editable install elsewhere points to.
sys.path.insert(0, str(ROOT))

from orderreport.examples import GUIDE_ORDER  # noqa: E402

BACKENDS = ("postgres", "sqlite")
ENDPOINTS = ("orders", "events")
LABELS = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
PATHS = {"orders": "/api/orders/track", "events": "/api/events/track"}
BASELINE_PATH = "/bench/baseline"
ORIGIN = "https://example.com"
# wrk's --timeout; also the longest a run waits after its measured seconds for the answers
# still in flight (see WRK_LUA).
WRK_TIMEOUT = 10


@dataclass(frozen=True)
class Target:
    """What a scenario must reach in every round."""

    min_ratio: float  # endpoint requests/s / baseline requests/s, at least
    max_p99_ratio: float | None = None  # endpoint p99 / baseline p99, at most
    max_p99_ms: float | None = None  # endpoint p99, below

    def ratio_ok(self, ratio: float) -> bool:
        return ratio >= self.min_ratio

    def p99_ok(self, p99_ms: float, p99_ratio: float) -> bool:
        if self.max_p99_ratio is not None and p99_ratio > self.max_p99_ratio:
            return False
        return self.max_p99_ms is None or p99_ms < self.max_p99_ms

    def describe(self) -> str:
        p99 = (
            f"p99 <= {self.max_p99_ratio:g} x the baseline's"
            if self.max_p99_ratio is not None
            else f"p99 < {self.max_p99_ms:g} ms"
        )
        return f"ratio >= {self.min_ratio:.2f} and {p99}"


# PostgreSQL with Redis is the production setup: judged against the baseline on the same
# processes. SQLite runs one process (no shared cache without Redis) whose single writer
# serialises the commits, so less throughput is expected and its latency is held to an
# absolute bound instead.
TARGETS = {
    "postgres": Target(min_ratio=0.5, max_p99_ratio=2.0),
    "sqlite": Target(min_ratio=0.3, max_p99_ms=150.0),
}

_ID = "__BENCH_ORDER_ID__"


def order_template() -> str:
    """The guide's example order as a Lua format string: the id is %s, every other % doubled."""
    body = json.dumps({**GUIDE_ORDER, "id": _ID}, ensure_ascii=False)
    return body.replace("%", "%%").replace(_ID, "%s")


def event_body(event_key: str) -> str:
    """The integration guide's event example ("Send event") with the bench event's key."""
    data = [{"name": "Имя", "value": "John Doe"}, {"name": "Телефон", "value": "+998901112233"}]
    return json.dumps({"event": event_key, "data": data}, ensure_ascii=False)


# wrk's script. Orders get a unique id per request (run tag, wrk thread, counter); events and
# their baseline send one fixed request. Every answer is counted by status.
#
# To compare the database with the 201s exactly, no request may be left in flight when wrk
# stops: after its measured seconds a thread sends nothing more (request() returns an empty
# string, which wrk 4.1 writes as nothing, leaving the connection idle) and stops itself once
# the last request it sent is answered; it prints BENCH_DRAINED, and the script interrupts wrk
# (SIGINT) when every thread has. wrk's -d is only the upper bound for a run whose answers do
# not come (then `unanswered` says how many). wrk's delay() hook could hold requests back too,
# but costs a timer event per request in the client, which shares the two cores; the clock is
# LuaJIT's ffi because Lua's os.time() counts whole seconds.
WRK_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}
local tag, deadline, fixed
local verify = false
counter = 0
n201 = 0
nother = 0
other = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("BENCH_API_KEY")
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
local template = [==[__TEMPLATE__]==]
local unique = __UNIQUE__

function init(args)
  tag = args[1] .. "-" .. tostring(tid) .. "-"
  deadline = now() + tonumber(args[2])
  -- wrk calls request() once on its first thread before the run to check what it returns
  -- (script_verify_request); that request is never sent, so it is not counted.
  verify = tid == 1
  if not unique then fixed = wrk.format(nil, nil, nil, template) end
end

local function drain()
  if counter == n201 + nother then
    io.write("BENCH_DRAINED\n")
    io.flush()
    wrk.thread:stop()
  end
end

function request()
  if verify then
    verify = false
    return fixed or wrk.format(nil, nil, nil, string.format(template, tag .. "verify"))
  end
  if now() >= deadline then
    drain()
    return ""
  end
  counter = counter + 1
  return fixed or wrk.format(nil, nil, nil, string.format(template, tag .. counter))
end

function response(status, headers, body)
  if status == 201 then
    n201 = n201 + 1
  else
    nother = nother + 1
    if #other < 300 then other = other .. status .. ":" .. body:sub(1, 80) .. " | " end
  end
  -- Cheap test first: before the deadline a thread nearly always has requests in flight.
  if counter == n201 + nother and now() >= deadline then drain() end
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
    '"p99_us": %d, "max_us": %d, "n201": %d, "nother": %d, "sent": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "samples": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, c201, cother, sent,
    e.connect, e.read, e.write, e.timeout,
    (samples:gsub("%c", " "):gsub("\\", "/"):gsub('"', "'"))))
end
"""


@dataclass
class Measure:
    """One wrk run against one path."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    n201: int
    nother: int
    sent: int
    socket_errors: int
    samples: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def unanswered(self) -> int:
        return self.sent - self.n201 - self.nother


@dataclass
class Round:
    number: int
    baseline: Measure
    endpoint: Measure

    @property
    def ratio(self) -> float:
        return self.endpoint.rps / self.baseline.rps

    @property
    def p99_ratio(self) -> float:
        return self.endpoint.p99_ms / max(self.baseline.p99_ms, 0.001)


@dataclass
class Scenario:
    backend: str
    endpoint: str
    rounds: list[Round] = field(default_factory=list)
    warmup_baseline: list[Measure] = field(default_factory=list)
    warmup_endpoint: list[Measure] = field(default_factory=list)
    stored: int = -1
    load_before: float = 0.0

    @property
    def name(self) -> str:
        return f"{LABELS[self.backend]} {self.endpoint}"

    @property
    def target(self) -> Target:
        return TARGETS[self.backend]

    def endpoint_runs(self) -> list[Measure]:
        return self.warmup_endpoint + [r.endpoint for r in self.rounds]

    def all_runs(self) -> list[Measure]:
        return self.warmup_baseline + self.endpoint_runs() + [r.baseline for r in self.rounds]

    @property
    def n201(self) -> int:
        return sum(m.n201 for m in self.endpoint_runs())

    @property
    def unanswered(self) -> int:
        return sum(m.unanswered for m in self.endpoint_runs())

    @property
    def non201(self) -> int:
        return sum(m.nother for m in self.all_runs())

    @property
    def socket_errors(self) -> int:
        return sum(m.socket_errors for m in self.all_runs())

    @property
    def counts_ok(self) -> bool:
        return self.stored == self.n201

    def round_ok(self, r: Round) -> bool:
        t = self.target
        clean = all(m.nother == 0 and m.socket_errors == 0 for m in (r.baseline, r.endpoint))
        return clean and t.ratio_ok(r.ratio) and t.p99_ok(r.endpoint.p99_ms, r.p99_ratio)

    def other_answers(self) -> str:
        """The answers other than 201 that wrk kept a sample of, each with how often."""
        seen = Counter(
            part.strip() for m in self.all_runs() for part in m.samples.split(" | ") if part.strip()
        )
        return "; ".join(f"{text} (x{n})" if n > 1 else text for text, n in seen.most_common(5))

    @property
    def ok(self) -> bool:
        return (
            bool(self.rounds)
            and all(self.round_ok(r) for r in self.rounds)
            and self.non201 == 0
            and self.socket_errors == 0
            and self.counts_ok
        )


@dataclass
class BackendInfo:
    database: str = ""
    banner: str = ""
    memory: list[dict[str, Any]] = field(default_factory=list)
    log_errors: int = 0


class Stop(Exception):
    """SIGTERM: unwind like Ctrl-C so that the servers are stopped."""


def on_sigterm(signum: int, frame: object) -> NoReturn:
    raise Stop


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    p.add_argument("--endpoint", choices=[*ENDPOINTS, "all"], default="all")
    p.add_argument("--rounds", type=int, default=3, help="baseline/endpoint pairs (default 3)")
    p.add_argument("--duration", type=int, default=15, help="seconds per wrk run (default 15)")
    p.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per target")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument(
        "--workers", type=int, default=None, help="orderreport serve --workers (PostgreSQL only)"
    )
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
    if not (1 <= args.wrk_threads <= args.connections <= 1024):
        p.error("1 <= wrk threads <= connections <= 1024")
    for url in (args.pg_url, args.redis_url):
        # Everything stays on this machine: services on loopback only.
        if not re.match(r"^[a-z]+://([^@/]*@)?(127\.0\.0\.1|localhost)(:\d+)?(/|$)", url):
            p.error(f"{url}: only loopback (127.0.0.1) services")
    return args


# --- Helper process: Django set up on one backend's database ---------------------------------
# Django's settings are fixed once per process, and a run uses two databases, so migrating,
# creating the tenant and counting run in a child process of this script with that backend's
# environment.


def helper_main(argv: list[str]) -> int:
    import django

    django.setup()
    from django.db import connections

    if argv[0] == "prepare":
        out = helper_prepare()
    elif argv[0] == "count":
        out = helper_count(int(argv[1]), int(argv[2]))
    else:
        raise SystemExit(f"unknown helper action {argv[0]!r}")
    connections.close_all()
    print("BENCH_HELPER " + json.dumps(out))
    return 0


def helper_prepare() -> dict[str, Any]:
    from django.core.management import call_command

    from orderreport.accounts.models import User
    from orderreport.accounts.services import create_account, get_plan
    from orderreport.projects.models import ApiKey, Domain, Project
    from orderreport.projects.services import create_event

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", secrets.token_urlsafe(16))
    account = create_account(user, "Bench", plan=get_plan("unlimited"))
    project = Project.objects.create(account=account, name="Bench shop")
    Domain.objects.create(project=project, host="example.com")
    key = ApiKey.objects.create(project=project, name="Bench")
    event = create_event(project, "Bench form")
    return {
        "api_key": key.key,
        "project_id": project.pk,
        "event_id": event.pk,
        "event_key": event.key,
        "database": describe_database(),
    }


def describe_database() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            info = {}
            for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
                cur.execute(f"SHOW {name}")
                info[name] = cur.fetchone()[0]
            return (
                f"PostgreSQL {info['server_version'].split()[0]} (fsync={info['fsync']}, "
                f"synchronous_commit={info['synchronous_commit']}, "
                f"shared_buffers={info['shared_buffers']})"
            )
        cur.execute("SELECT sqlite_version()")
        version = cur.fetchone()[0]
        cur.execute("PRAGMA journal_mode")
        journal = cur.fetchone()[0]
        cur.execute("PRAGMA synchronous")
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(cur.fetchone()[0], "?")
        return f"SQLite {version} (journal_mode={journal}, synchronous={sync})"


def helper_count(project_id: int, event_id: int) -> dict[str, int]:
    from orderreport.events.models import EventRecord
    from orderreport.orders.models import Order

    return {
        "orders": Order.objects.filter(project_id=project_id).count(),
        "events": EventRecord.objects.filter(event_id=event_id).count(),
    }


def run_helper(env: dict[str, str], *argv: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--helper", *argv]
    out = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600
    )
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_HELPER "):
            return dict(json.loads(line.removeprefix("BENCH_HELPER ")))
    raise SystemExit(f"helper {argv[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")


# --- Servers and wrk -------------------------------------------------------------------------


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


def backend_env(args: argparse.Namespace, backend: str, tmp: Path) -> dict[str, str]:
    limits = "1000000000"  # checked on every request, never reached
    env = {
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
    if backend == "postgres":
        env["DATABASE_URL"] = f"{args.pg_url}/{args.database}"
        env["REDIS_URL"] = args.redis_url
    else:
        # `make run`'s setup: a SQLite file and no Redis (empty overrides one in the caller's
        # environment), so the local-memory cache and one web process.
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        env["REDIS_URL"] = ""
    return env


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
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


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path


@contextmanager
def serving(
    args: argparse.Namespace, backend: str, env: dict[str, str], tmp: Path
) -> Iterator[Server]:
    port = free_port()
    cmd = [sys.executable, "-m", "orderreport", "serve", "--port", str(port)]
    if args.workers and backend == "postgres":  # without Redis, serve refuses more than one
        cmd += ["--workers", str(args.workers)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    log = tmp / f"serve-{backend}.log"
    with open(log, "wb") as out:
        # Its own session: Ctrl-C reaches only this script, which then stops the server.
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                stderr=out, start_new_session=True)  # fmt: skip
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(server.base, proc)
        yield server
    except (Exception, SystemExit):  # not on Ctrl-C: then the log is not what was asked for
        stop(proc)
        print(f"--- {backend} server log tail ---\n{log_tail(log)}", flush=True)
        raise
    finally:
        stop(proc)


def log_tail(log: Path, size: int = 3000) -> str:
    return log.read_bytes()[-size:].decode(errors="replace")


def log_errors(log: Path) -> int:
    text = log.read_bytes().decode(errors="replace")
    return len(re.findall(r"\b(?:ERROR|CRITICAL)\b|Traceback", text))


def run_wrk(args: argparse.Namespace, url: str, script: Path, tag: str, seconds: int,
            env: dict[str, str]) -> Measure:  # fmt: skip
    cmd = [
        "wrk", f"-t{args.wrk_threads}", f"-c{args.connections}",
        f"-d{seconds + WRK_TIMEOUT}s", "--timeout", f"{WRK_TIMEOUT}s",
        "-s", str(script), url, "--", tag, str(seconds),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    # wrk ends by itself after -d; this only guards against a hang of wrk itself.
    watchdog = threading.Timer(seconds + WRK_TIMEOUT + 30, proc.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        drained = 0
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("BENCH_DRAINED"):
                drained += 1
                if drained == args.wrk_threads:
                    proc.send_signal(signal.SIGINT)  # every answer is in: report now
        proc.wait(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    for line in lines:
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line.removeprefix("BENCH_JSON "))
            return Measure(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
                n201=raw["n201"],
                nother=raw["nother"],
                sent=raw["sent"],
                socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
                samples=raw["samples"],
            )
    raise SystemExit(f"wrk gave no result ({proc.returncode}):\n{''.join(lines)[-3000:]}")


def write_script(tmp: Path, name: str, template: str, unique: bool) -> Path:
    script = tmp / f"{name}.lua"
    lua = WRK_LUA.replace("__TEMPLATE__", template).replace("__UNIQUE__", str(unique).lower())
    script.write_text(lua, encoding="utf-8")
    return script


def run_scenario(args: argparse.Namespace, server: Server, tenant: dict[str, Any],
                 scenario: Scenario, tmp: Path, run_tag: str) -> None:  # fmt: skip
    endpoint = scenario.endpoint
    if endpoint == "orders":
        script = write_script(tmp, f"{scenario.backend}-orders", order_template(), unique=True)
    else:
        body = event_body(tenant["event_key"])
        script = write_script(tmp, f"{scenario.backend}-events", body, unique=False)
    env = {**os.environ, "BENCH_API_KEY": tenant["api_key"], "BENCH_ORIGIN": ORIGIN}
    targets = {"baseline": server.base + BASELINE_PATH, endpoint: server.base + PATHS[endpoint]}
    tag = f"{run_tag}-{scenario.backend}"
    if args.warmup:
        print(f"{scenario.name}: warming up {args.warmup}s per target", flush=True)
        for name, url in targets.items():
            m = run_wrk(args, url, script, f"{tag}-w-{name}", args.warmup, env)
            (scenario.warmup_baseline if name == "baseline" else scenario.warmup_endpoint).append(m)
    scenario.load_before = os.getloadavg()[0]
    for rnd in range(1, args.rounds + 1):
        order = list(targets.items())
        if rnd % 2 == 0:  # alternate who goes first: drift hits both alike
            order.reverse()
        got: dict[str, Measure] = {}
        for name, url in order:
            m = got[name] = run_wrk(args, url, script, f"{tag}-{rnd}-{name}", args.duration, env)
            print(
                f"{scenario.name} round {rnd} {name:8} {m.rps:8.0f} req/s  p50 {m.p50_ms:6.1f} ms"
                f"  p99 {m.p99_ms:6.1f} ms  non-201 {m.nother}  socket errors {m.socket_errors}"
                f"  unanswered {m.unanswered}  ({m.seconds:.2f} s)",
                flush=True,
            )
        scenario.rounds.append(Round(rnd, got["baseline"], got[endpoint]))


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


def memory(pid: int) -> dict[str, Any] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:  # exited meanwhile
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "pid": pid,
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "hwm_mb": int(fields["VmHWM"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "cmd": cmd[:80],
    }


def run_backend(args: argparse.Namespace, backend: str, endpoints: list[str], tmp: Path,
                run_tag: str, scenarios: list[Scenario], info: BackendInfo) -> None:  # fmt: skip
    env = backend_env(args, backend, tmp)
    if backend == "postgres":
        print(f"recreating database {args.database}", flush=True)
        recreate_database(args.pg_url, args.database)
    else:
        print(f"migrating a fresh SQLite file {env['DATABASE_URL']}", flush=True)
    tenant = run_helper(env, "prepare")
    info.database = tenant["database"]
    with serving(args, backend, env, tmp) as server:
        with open(server.log, "rb") as f:  # serve's first line: address, processes, threads
            info.banner = f.readline().decode(errors="replace").strip()
        for endpoint in endpoints:
            scenario = Scenario(backend, endpoint)
            scenarios.append(scenario)
            run_scenario(args, server, tenant, scenario, tmp, run_tag)
            # Every request was answered (or counted as unanswered) before wrk stopped, so the
            # database can be compared now, exactly.
            counts = run_helper(env, "count", str(tenant["project_id"]), str(tenant["event_id"]))
            scenario.stored = counts[endpoint]
            print("\n".join(scenario_rows(scenario)) + "\n", flush=True)
        # The server process is granian's main process (serve execs it); all below it serve.
        procs = (memory(p) for p in descendants(server.proc.pid))
        info.memory = [m for m in procs if m]
    info.log_errors = log_errors(server.log)
    mine = [s for s in scenarios if s.backend == backend]
    if info.log_errors or any(s.non201 or s.socket_errors for s in mine):
        print(f"--- {backend} server log tail ---\n{log_tail(server.log)}", flush=True)


# --- Report ----------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


TABLE_HEAD = [
    "| scenario | round | req/s | baseline req/s | ratio | p50 ms | baseline p50 ms | p99 ms "
    "| baseline p99 ms | p99 ratio | non-201 / socket errors | stored = 201s | result |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
]


def scenario_rows(s: Scenario) -> list[str]:
    """A row per round and one of each figure's worst round, PASS/FAIL next to what is judged."""
    t = s.target
    judged_ms = t.max_p99_ms is not None  # which p99 figure the target is on

    def p99_cells(p99: float, ratio: float) -> tuple[str, str]:
        ok = t.p99_ok(p99, ratio)
        ms = f"{p99:.1f} {mark(ok)}" if judged_ms else f"{p99:.1f}"
        rel = f"{ratio:.2f}" if judged_ms else f"{ratio:.2f} {mark(ok)}"
        return ms, rel

    rows = []
    for r in s.rounds:
        b, e = r.baseline, r.endpoint
        ms, rel = p99_cells(e.p99_ms, r.p99_ratio)
        rows.append(
            f"| {s.name} | {r.number} | {e.rps:.0f} | {b.rps:.0f} | {r.ratio:.2f} "
            f"{mark(t.ratio_ok(r.ratio))} | {e.p50_ms:.1f} | {b.p50_ms:.1f} | {ms} | "
            f"{b.p99_ms:.1f} | {rel} | {e.nother + b.nother} / {e.socket_errors + b.socket_errors}"
            f" | | {mark(s.round_ok(r))} |"
        )
    if s.rounds:
        ratio = min(r.ratio for r in s.rounds)
        p99 = max(r.endpoint.p99_ms for r in s.rounds)
        p99_ratio = max(r.p99_ratio for r in s.rounds)
        # Judged separately, each on its own worst round.
        ms = f"{p99:.1f} {mark(t.p99_ok(p99, 0))}" if judged_ms else f"{p99:.1f}"
        rel = f"{p99_ratio:.2f}" if judged_ms else f"{p99_ratio:.2f} {mark(t.p99_ok(0, p99_ratio))}"
        if s.counts_ok:
            counted = f"{s.stored} = {s.n201} OK"
        else:
            counted = f"{s.stored} != {s.n201} MISMATCH ({s.unanswered} unanswered)"
        rows.append(
            f"| {s.name} | worst | {min(r.endpoint.rps for r in s.rounds):.0f} | | {ratio:.2f} "
            f"{mark(t.ratio_ok(ratio))} | {max(r.endpoint.p50_ms for r in s.rounds):.1f} | | "
            f"{ms} | | {rel} | {s.non201} / {s.socket_errors} | {counted} | **{mark(s.ok)}** |"
        )
    return rows


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


def wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    except OSError:
        return "wrk"
    found = re.search(r"wrk \S+", out.stdout)
    return found.group(0) if found else "wrk"


def report(args: argparse.Namespace, scenarios: list[Scenario],
           infos: dict[str, BackendInfo]) -> bool:  # fmt: skip
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Run of {now}",
        "",
        f"- Code `{git_rev()}`, Python {platform.python_version()}; {machine()}. Load average "
        "before each scenario's timed rounds: "
        + ", ".join(f"{s.name} {s.load_before:.2f}" for s in scenarios)
        + " (the machine is shared: compare ratios, not raw numbers).",
    ]
    for backend, info in infos.items():
        mem = ", ".join(f"{m['rss_mb']:.0f} (peak {m['hwm_mb']:.0f})" for m in info.memory)
        cache = "Redis" if backend == "postgres" else "no Redis (local-memory cache)"
        lines.append(
            f"- {LABELS[backend]}: {info.database}, {cache}; {info.banner or 'orderreport serve'}"
            f"; web processes' memory {mem or '?'} MB; server log: {info.log_errors} error lines."
        )
    lines += [
        f"- Load: {wrk_version()}, {args.connections} connections, {args.wrk_threads} threads, "
        f"{args.rounds} rounds x {args.duration} s per target after {args.warmup} s of warm-up, "
        "alternating which goes first; rate limits on (raised, never reached). Orders: the "
        "guide's example order with a unique id; events: the guide's event body; the baseline "
        "gets the same body as its endpoint.",
        "- Targets, in every round ('worst' is each figure's worst round): "
        + "; ".join(f"{LABELS[b]} {TARGETS[b].describe()}" for b in infos)
        + "; no answer but 201; the database holds exactly as many orders / event records as "
        "201s were counted.",
    ]
    if args.note:
        lines.append(f"- Note: {args.note}")
    lines += ["", *TABLE_HEAD]
    for s in scenarios:
        lines += scenario_rows(s)
    lines.append("")
    for s in scenarios:
        if s.non201:
            lines.append(f"- {s.name}, answers other than 201 (samples): {s.other_answers()}")
    passed = [s for s in scenarios if s.ok]
    failed = ", ".join(s.name for s in scenarios if not s.ok)
    ok = bool(scenarios) and len(passed) == len(scenarios)
    lines += [
        f"- Verdict: {len(passed)} of {len(scenarios)} scenarios met their targets"
        + (f" (not met: {failed})." if failed else "."),
        "",
    ]
    section = "\n".join(lines)
    print("\n" + section)
    if not args.no_record:
        head = (
            RESULTS.read_text(encoding="utf-8")
            if RESULTS.exists()
            else "# Ingest benchmark results\n\nHow to run: README.md. Newest first.\n\n"
        )
        marker = "## Run of "
        idx = head.find(marker)
        new = (head[:idx] + section + "\n" + head[idx:]) if idx >= 0 else (head + section)
        RESULTS.write_text(new, encoding="utf-8")
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    return ok


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--helper":
        return helper_main(sys.argv[2:])
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (`make bench` installs it)")
    signal.signal(signal.SIGTERM, on_sigterm)
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    endpoints = list(ENDPOINTS) if args.endpoint == "all" else [args.endpoint]
    run_tag = secrets.token_hex(3)
    scenarios: list[Scenario] = []
    infos: dict[str, BackendInfo] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="orderreport-bench-") as tmp:
            for backend in backends:
                infos[backend] = BackendInfo()
                run_backend(args, backend, endpoints, Path(tmp), run_tag, scenarios,
                            infos[backend])  # fmt: skip
    except (KeyboardInterrupt, Stop):
        print("\ninterrupted: servers stopped, nothing recorded", file=sys.stderr)
        return 130
    return 0 if report(args, scenarios, infos) else 1


if __name__ == "__main__":
    sys.exit(main())
