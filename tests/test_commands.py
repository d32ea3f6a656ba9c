"""The `orderreport` commands a person types: demo, set-plan, serve and run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client

from orderreport.accounts.models import Account, User
from orderreport.accounts.services import create_account, get_plan
from orderreport.cli import main
from orderreport.projects.models import ApiKey, Domain, Event, Project
from tests.conftest import Api
from tests.notify.servers import free_port

DEMO_FIELDS = {"api_key", "event_key", "domain", "base_url", "login", "password", "server_key"}


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def demo_json() -> dict[str, str]:
    out = io.StringIO()
    call_command("demo", "--json", stdout=out)
    data: dict[str, str] = json.loads(out.getvalue())
    return data


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (User, Account, Project, Domain, ApiKey, Event)}


# --- demo ------------------------------------------------------------------------------------


def test_it_creates_the_demo_once_and_prints_the_same_credentials(db: None, var_dir: Path) -> None:
    first = demo_json()
    assert set(first) == DEMO_FIELDS
    assert all(isinstance(value, str) and value for value in first.values())
    created = counts()
    assert created == {
        "User": 1,
        "Account": 1,
        "Project": 1,
        "Domain": 1,
        "ApiKey": 2,  # the browser key and the server key
        "Event": 1,
    }
    assert demo_json() == first
    assert counts() == created
    # The password lives only in var/, readable by its owner alone.
    assert ((var_dir / "demo-password").stat().st_mode & 0o777) == 0o600


def test_it_prints_credentials_that_work(db: None, var_dir: Path, api: Api) -> None:
    demo = demo_json()
    out = io.StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    for field in ("login", "password", "api_key", "event_key", "server_key", "domain"):
        assert demo[field] in text
    assert f"{demo['base_url']}/api/orders/track" in text

    assert Client().login(email=demo["login"], password=demo["password"])
    body = {"id": "demo-1", "total": 99000}
    origin = f"https://{demo['domain']}"
    assert api.order(body, demo["api_key"], origin=origin).status_code == 201
    event = {"event": demo["event_key"], "data": [{"name": "phone", "value": "1"}]}
    assert api.event(event, demo["api_key"], origin=origin).status_code == 201
    update = api.post(
        "/api/orders/update", {"id": "demo-1", "status": "paid"}, demo["server_key"], origin=None
    )
    assert update.status_code == 200, update.content


def test_it_replaces_a_demo_server_key_that_was_switched_off(db: None, var_dir: Path) -> None:
    first = demo_json()
    ApiKey.objects.filter(kind=ApiKey.Kind.SERVER).update(is_active=False)
    second = demo_json()
    assert second["server_key"] != first["server_key"]
    assert {k: v for k, v in second.items() if k != "server_key"} == {
        k: v for k, v in first.items() if k != "server_key"
    }


# --- set-plan --------------------------------------------------------------------------------


@pytest.fixture
def owner(db: None) -> User:
    user = User.objects.create_user("Shop.Owner@example.com", "correct horse battery")
    create_account(user, "Shop", plan=get_plan("free"))
    return user


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`orderreport` as typed, in this process: the test keeps its database connection."""
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)
    return main


def test_it_moves_an_owners_account_to_a_plan(owner: User, cli: Any, capsys: Any) -> None:
    cli(["orderreport", "set-plan", "shop.owner@example.com ", "pro"])  # as typed, loosely
    assert capsys.readouterr().out == "Shop: now on pro\n"
    assert Account.objects.get(owner=owner).plan == get_plan("pro")


def test_it_names_the_plans_when_the_plan_is_unknown(owner: User) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("set_plan", owner.email, "gold")
    assert str(caught.value) == (
        "No plan named 'gold'; plans are: free, start, pro, business, unlimited"
    )
    assert Account.objects.get(owner=owner).plan == get_plan("free")


def test_it_refuses_an_email_that_owns_no_account(owner: User, cli: Any, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["orderreport", "set-plan", "nobody@example.com", "pro"])
    assert exited.value.code == 1
    assert "No account is owned by 'nobody@example.com'." in capsys.readouterr().err
    assert Account.objects.get(owner=owner).plan == get_plan("free")


# --- serve and run, as processes ---------------------------------------------------------------


def process_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_NAME", "CI")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        PORT=str(port),
        BASE_URL=f"http://127.0.0.1:{port}",
        ALLOWED_HOSTS="127.0.0.1",
        SECRET_KEY="command-tests-only-" + "x" * 40,
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.contextmanager
def started(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`orderreport <args>` in its own process group, killed with everything it started
    however the test ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orderreport", *args],
            env=env,
            cwd=django_settings.ROOT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for_health(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if response.status_code == 200:
                return
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def group_gone(pgid: int, seconds: float = 10) -> bool:
    """Whether the group's processes are all gone within `seconds` (SIGKILL is sent to each
    at once, but a worker may take a moment to die after its leader has been reaped)."""
    deadline = time.monotonic() + seconds
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is left in the process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after its ")"
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def test_serve_answers_healthz(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with started(["serve", "--port", str(port)], process_env(tmp_path, port), log) as server:
        wait_for_health(server, port, log)
        assert f"Serving on http://127.0.0.1:{port} (1 process(es)" in log.read_text()
    assert group_gone(server.pid)


def test_run_migrates_makes_the_demo_serves_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "run.log"
    env = process_env(tmp_path, port)
    with started(["run"], env, log) as run:
        wait_for_health(run, port, log)
        text = log.read_text()
        assert f"OrderReport is running at http://127.0.0.1:{port}" in text
        demo = json.loads(
            subprocess.run(
                [sys.executable, "-m", "orderreport", "demo", "--json"],
                env=env,
                cwd=django_settings.ROOT_DIR,
                capture_output=True,
                check=True,
                timeout=60,
            ).stdout
        )
        assert f"password:  {demo['password']}" in text  # the same demo, printed at start
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/orders/track",
            json={"id": "run-1", "total": 100},
            headers={"X-API-KEY": demo["api_key"], "Origin": f"https://{demo['domain']}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        worker = subprocess.run(
            ["pgrep", "-g", str(run.pid), "-f", "orderreport worker"], capture_output=True
        )
        assert worker.returncode == 0, "the worker is not running:\n" + text

        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=30) == 0, log.read_text()
        deadline = time.monotonic() + 10
        while group_alive(run.pid):  # the server and the worker went with it
            assert time.monotonic() < deadline, "children outlived `orderreport run`"
            time.sleep(0.1)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
