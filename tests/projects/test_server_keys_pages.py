"""The keys page's server keys: created and rotated by owners and admins, the value shown
once (never stored, never cached by the browser), read-only for viewers, 404 for outsiders."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from orderreport.projects import services
from orderreport.projects.models import ApiKey
from tests.conftest import Api, Shop, Team

SHOWN_ONCE = "Copy this key now: it will not be shown again."


def _url(shop: Shop, name: str = "projects:keys", *more: int) -> str:
    return reverse(name, args=[shop.project.pk, *more])


def _shown_value(page: str) -> str:
    match = re.search(r'data-copy="(sk_[^"]+)"', page)
    assert match, page
    return match.group(1)


def _create(client: Client, shop: Shop, name: str = "CRM") -> tuple[ApiKey, str]:
    response = client.post(_url(shop, "projects:server_key_create"), {"server-name": name})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert SHOWN_ONCE in response.text
    key = ApiKey.objects.get(project=shop.project, name=name)
    return key, _shown_value(response.text)


def test_it_creates_a_server_key_and_shows_it_once(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.admin)
    key, raw = _create(client, team.shop)
    assert key.kind == ApiKey.Kind.SERVER
    assert raw.startswith("sk_") and key.key != raw
    page = client.get(_url(team.shop)).text
    assert raw not in page  # a second visit does not show it
    assert key.key not in page  # nor its hash
    assert f"<code>{key.prefix}…</code>" in page
    assert "CRM" in page and "Server" in page and "Browser" in page
    # The value works on the API (from a server: no Origin).
    assert api.order({"id": "1", "total": 1}, raw, origin=None).status_code == 201


def test_the_list_shows_kind_name_prefix_created_and_last_used(client: Client, team: Team) -> None:
    key, _raw = services.create_server_key(team.shop.project, "1C exchange")
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    row = page[page.index(f'<tr id="key-{key.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Server" in row and "1C exchange" in row and key.prefix in row
    assert f'<time datetime="{key.created.isoformat()}' in row
    assert "never" in row
    assert "data-copy" not in row


def test_it_rotates_and_shows_the_new_value_once(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.owner)
    key, old = _create(client, team.shop)
    assert api.order({"id": "1", "total": 1}, old, origin=None).status_code == 201
    url = _url(team.shop, "projects:server_key_rotate", key.pk)
    confirm = client.get(url)
    assert confirm.status_code == 200 and key.prefix in confirm.text and old not in confirm.text
    response = client.post(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert SHOWN_ONCE in response.text
    new = _shown_value(response.text)
    assert new != old
    key.refresh_from_db()
    assert key.prefix == new[:8]
    assert api.order({"id": "2", "total": 1}, old, origin=None).status_code == 401
    assert api.order({"id": "3", "total": 1}, new, origin=None).status_code == 201
    assert new not in client.get(_url(team.shop)).text


def test_browser_keys_are_not_rotated(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    url = _url(team.shop, "projects:server_key_rotate", team.shop.key.pk)
    assert client.get(url).status_code == 404
    before = team.shop.key.key
    assert client.post(url).status_code == 404
    team.shop.key.refresh_from_db()
    assert team.shop.key.key == before


def test_it_deactivates_and_deletes_a_server_key(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.admin)
    key, raw = _create(client, team.shop)
    toggle = _url(team.shop, "projects:key_active", key.pk)
    assert client.post(toggle, {"active": "0"}).status_code == 302
    assert api.order({"id": "1", "total": 1}, raw, origin=None).status_code == 401
    assert client.post(toggle, {"active": "1"}).status_code == 302
    assert api.order({"id": "2", "total": 1}, raw, origin=None).status_code == 201
    assert client.post(_url(team.shop, "projects:key_delete", key.pk)).status_code == 302
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert api.order({"id": "3", "total": 1}, raw, origin=None).status_code == 401


def test_it_says_what_is_wrong_and_creates_nothing(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    url = _url(team.shop, "projects:server_key_create")
    response = client.post(url, {"server-name": " "})
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert SHOWN_ONCE not in response.text
    assert not team.shop.project.api_keys.filter(kind=ApiKey.Kind.SERVER).exists()


def test_viewers_cannot_create_or_rotate(client: Client, team: Team) -> None:
    key, _raw = services.create_server_key(team.shop.project, "CRM")
    before = key.key
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    assert 'name="server-name"' not in page
    assert "Rotate" not in page
    url = _url(team.shop, "projects:server_key_create")
    assert client.post(url, {"server-name": "Mine"}).status_code == 403
    rotate = _url(team.shop, "projects:server_key_rotate", key.pk)
    assert client.get(rotate).status_code == 403
    assert client.post(rotate).status_code == 403
    key.refresh_from_db()
    assert key.key == before
    assert team.shop.project.api_keys.filter(kind=ApiKey.Kind.SERVER).count() == 1


def test_outsiders_get_404(client: Client, team: Team) -> None:
    key, _raw = services.create_server_key(team.shop.project, "CRM")
    before = key.key
    client.force_login(team.outsider)
    url = _url(team.shop, "projects:server_key_create")
    assert client.post(url, {"server-name": "Mine"}).status_code == 404
    rotate = _url(team.shop, "projects:server_key_rotate", key.pk)
    assert client.get(rotate).status_code == 404
    assert client.post(rotate).status_code == 404
    key.refresh_from_db()
    assert key.key == before
    assert team.shop.project.api_keys.filter(kind=ApiKey.Kind.SERVER).count() == 1


def test_another_tenants_key_id_is_404(client: Client, team: Team, other_shop: Shop) -> None:
    foreign, _raw = services.create_server_key(other_shop.project, "Theirs")
    before = foreign.key
    client.force_login(team.owner)
    rotate = _url(team.shop, "projects:server_key_rotate", foreign.pk)
    assert client.get(rotate).status_code == 404
    assert client.post(rotate).status_code == 404
    toggle = _url(team.shop, "projects:key_active", foreign.pk)
    assert client.post(toggle, {"active": "0"}).status_code == 404
    assert client.post(_url(team.shop, "projects:key_delete", foreign.pk)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.key == before and foreign.is_active


def test_the_integration_guide_never_uses_a_server_key(client: Client, team: Team) -> None:
    server, _raw = services.create_server_key(team.shop.project, "CRM")
    team.shop.key.delete()
    client.force_login(team.owner)
    page = client.get(_url(team.shop, "projects:integration")).text
    assert server.key not in page and server.prefix not in page


def test_it_speaks_russian(client: Client, team: Team) -> None:
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    page = client.get(_url(team.shop)).text
    assert "Создать серверный ключ" in page
    response = client.post(_url(team.shop, "projects:server_key_create"), {"server-name": "CRM"})
    assert "Скопируйте ключ сейчас: больше он показан не будет." in response.text
