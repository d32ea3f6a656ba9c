"""The integration page's Server API section: the two key kinds, creating a server key in
place (shown once) and the update/read examples filled in with the project's values."""

from __future__ import annotations

import html
import re
import subprocess
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orderreport.orders.models import Order
from orderreport.projects.models import ApiKey, hash_server_key
from tests.conftest import Team


def _url(team: Team, name: str = "projects:integration") -> str:
    return reverse(name, args=[team.shop.project.pk])


def _snippets(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)]


def _snippet(page: str, starts: str, contains: str) -> str:
    (found,) = [s for s in _snippets(page) if s.startswith(starts) and contains in s]
    return found


CREATE = "Create a server key"


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_see_the_section_with_the_create_form(
    client: Client, team: Team, who: str, settings: Any
) -> None:
    settings.BASE_URL = "https://orders.example.net"
    client.force_login(getattr(team, who))
    page = client.get(_url(team)).text
    assert 'id="server-api"' in page
    assert "Server API" in page
    assert "browser key" in page and "server key" in page
    assert CREATE in page
    assert f'action="{_url(team, "projects:integration_server_key")}#server-api"' in page
    update = _snippet(page, "curl", "/api/orders/update")
    assert update.startswith("curl -X POST 'https://orders.example.net/api/orders/update'")
    assert "X-API-KEY: sk_YOUR_SERVER_KEY" in update
    assert "Origin" not in update
    read = _snippet(page, "curl", "/api/external/orders")
    assert read.startswith("curl 'https://orders.example.net/api/external/orders?id=")
    php = _snippet(page, "<?php", "/api/orders/update")
    assert "curl_init('https://orders.example.net/api/orders/update')" in php
    assert "On the server of example.com" in php
    python = _snippet(page, "# On the server of example.com", "urllib")
    assert '"https://orders.example.net/api/orders/update"' in python
    assert "https://example.com" in page  # the optional Origin, this project's domain


def test_viewers_see_the_explanation_without_the_create_button(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    page = client.get(_url(team)).text
    assert 'id="server-api"' in page
    assert CREATE not in page
    assert "Only owners and admins can create server keys." in page
    assert "sk_YOUR_SERVER_KEY" in page
    response = client.post(_url(team, "projects:integration_server_key"), {"server-name": "CRM"})
    assert response.status_code == 403
    assert not team.shop.project.api_keys.filter(kind=ApiKey.Kind.SERVER).exists()


def test_outsiders_get_404(client: Client, team: Team) -> None:
    client.force_login(team.outsider)
    assert client.get(_url(team)).status_code == 404
    response = client.post(_url(team, "projects:integration_server_key"), {"server-name": "CRM"})
    assert response.status_code == 404
    assert not team.shop.project.api_keys.filter(kind=ApiKey.Kind.SERVER).exists()


def test_the_examples_use_a_real_order_id_when_there_is_one(client: Client, team: Team) -> None:
    Order.objects.create(
        project=team.shop.project,
        external_id="A 1/7",
        total=100,
        currency="RUB",
        received_at=timezone.now(),
    )
    client.force_login(team.viewer)
    page = client.get(_url(team)).text
    assert '"id": "A 1/7"' in _snippet(page, "curl", "/api/orders/update")
    assert "/api/external/orders?id=A%201%2F7'" in _snippet(page, "curl", "/api/external/orders")
    assert 'update_order("A 1/7"' in _snippet(page, "#", "urllib")


def test_creating_a_key_shows_it_once_in_the_examples(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    response = client.post(_url(team, "projects:integration_server_key"), {"server-name": "CRM"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = team.shop.project.api_keys.get(kind=ApiKey.Kind.SERVER)
    assert key.name == "CRM"
    page = response.text
    (raw,) = set(re.findall(r"sk_[A-Za-z0-9_-]{20,}", page))
    assert key.key == hash_server_key(raw)
    assert "it will not be shown again" in page
    assert f"X-API-KEY: {raw}" in _snippet(page, "curl", "/api/orders/update")
    assert f"X-API-KEY: {raw}" in _snippet(page, "curl", "/api/external/orders")
    assert f"'X-API-KEY: {raw}'" in _snippet(page, "<?php", "/api/orders/update")
    assert f'SERVER_KEY = "{raw}"' in _snippet(page, "#", "urllib")
    assert CREATE not in page
    # Never again: the next visit shows the placeholder and no value.
    again = client.get(_url(team)).text
    assert raw not in again
    assert "sk_YOUR_SERVER_KEY" in again
    assert raw not in client.get(reverse("projects:keys", args=[team.shop.project.pk])).text


def test_a_blank_name_is_refused_in_place(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(_url(team, "projects:integration_server_key"), {"server-name": " "})
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert not team.shop.project.api_keys.filter(kind=ApiKey.Kind.SERVER).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_created_keys_curl_examples_work_unchanged(
    client: Client, team: Team, live_server: Any, settings: Any
) -> None:
    settings.BASE_URL = live_server.url
    shop = team.shop
    Order.objects.create(
        project=shop.project,
        external_id="order-7",
        total=100,
        currency="RUB",
        received_at=timezone.now(),
    )
    client.force_login(team.owner)
    page = client.post(_url(team, "projects:integration_server_key"), {"server-name": "CRM"}).text
    for path, answer in [("/api/orders/update", '"status": "paid"'), ("/api/external/orders", "")]:
        command = _snippet(page, "curl", path) + " --silent --write-out ' %{http_code}'"
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
        assert result.stdout.endswith(" 200"), result.stdout + result.stderr
        assert answer.replace(" ", "") in result.stdout.replace(" ", "")
    assert Order.objects.get(project=shop.project, external_id="order-7").status == "paid"
    python = _snippet(page, "#", "urllib")
    result = subprocess.run(["python3", "-c", python], capture_output=True, text=True, timeout=30)
    assert "'status': 'completed'" in result.stdout, result.stdout + result.stderr
    assert Order.objects.get(project=shop.project, external_id="order-7").status == "completed"


def test_the_section_speaks_russian(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    client.post("/language/", {"language": "ru", "next": "/"})
    page = client.get(_url(team)).text
    assert "Серверный API" in page
    assert "<strong>Браузерный ключ</strong>" in page
    assert "до тех пор в примерах" in page
    assert 'value="Мой сервер"' in page
    assert "Обновить заказ:" in page and "Изменить статус заказа" in page
    created = client.post(
        _url(team, "projects:integration_server_key"), {"server-name": "CRM"}
    ).text
    assert "Серверный ключ «CRM» создан." in created
    assert "Примеры ниже заполнены новым ключом." in created
    client.force_login(team.viewer)
    client.post("/language/", {"language": "ru", "next": "/"})
    viewer = client.get(_url(team)).text
    assert "Создавать серверные ключи могут только владельцы и администраторы." in viewer
