"""`orderreport demo --json`: the same working credentials, server key included, every run."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.test import Client

from orderreport.orders.models import Order
from tests.conftest import Api


def _demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_demo_json_prints_the_same_working_server_key_twice(
    db: None, settings: Any, tmp_path: Path, client: Client, api: Api
) -> None:
    settings.VAR_DIR = tmp_path
    first = json.loads(_demo("--json"))
    second = json.loads(_demo("--json"))
    assert first == second
    server_key = first["server_key"]
    assert server_key.startswith("sk_")
    assert (tmp_path / "demo-server-key").read_text().strip() == server_key
    assert (tmp_path / "demo-server-key").stat().st_mode & 0o777 == 0o600
    # The text form mentions it too.
    assert server_key in _demo()

    body = {"id": "demo-1", "total": 99000, "currency": "RUB"}
    assert api.order(body, first["api_key"], origin=f"https://{first['domain']}").status_code == 201
    updated = api.post("/api/orders/update", {"id": "demo-1", "status": "paid"}, server_key, None)
    assert updated.status_code == 200, updated.content
    assert updated.json()["status"] == "paid"
    assert api.order({**body, "id": "demo-2"}, server_key, origin=None).status_code == 201
    read = client.get("/api/external/orders", {"id": "demo-1"}, HTTP_X_API_KEY=server_key)
    assert read.status_code == 200
    assert read.json()["status"] == "paid"
    assert Order.objects.get(external_id="demo-1").status == "paid"


def test_demo_replaces_a_server_key_that_no_longer_works(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    first = json.loads(_demo("--json"))["server_key"]
    (tmp_path / "demo-server-key").write_text("sk_lost")
    second = json.loads(_demo("--json"))["server_key"]
    assert second != first and second.startswith("sk_")
    assert json.loads(_demo("--json"))["server_key"] == second
