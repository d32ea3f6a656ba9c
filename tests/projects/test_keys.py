from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.ingest import http as tracking_http
from orderreport.projects.models import ApiKey
from tests.conftest import Api, Shop, Team


def _url(shop: Shop, name: str = "projects:keys", *more: int) -> str:
    return reverse(name, args=[shop.project.pk, *more])


def test_it_creates_a_key_and_shows_it_with_a_copy_button(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    response = client.post(_url(team.shop), {"name": "Landing page"})
    assert response.status_code == 302
    key = ApiKey.objects.get(project=team.shop.project, name="Landing page")
    page = client.get(_url(team.shop)).text
    assert f'data-copy="{key.key}"' in page
    assert "never" in page


def test_it_shows_when_a_key_was_last_used(
    client: Client, team: Team, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API writes last_used at most once a minute per key id and process; ids repeat
    # between tests, so start with a clean slate.
    monkeypatch.setattr(tracking_http, "_last_used_written", {})
    assert api.order({"id": "1", "total": 1}, team.shop.key.key).status_code == 201
    team.shop.key.refresh_from_db()
    assert team.shop.key.last_used is not None
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    assert f'<time datetime="{team.shop.key.last_used.isoformat()}' in page


def test_it_deactivates_a_key_and_the_next_api_request_gets_401(
    client: Client, team: Team, api: Api
) -> None:
    raw = team.shop.key.key
    # The first request caches the key, so the page must invalidate that entry.
    assert api.order({"id": "1", "total": 1}, raw).status_code == 201
    client.force_login(team.admin)
    response = client.post(
        _url(team.shop, "projects:key_active", team.shop.key.pk), {"active": "0"}
    )
    assert response.status_code == 302
    response = api.order({"id": "2", "total": 1}, raw)
    assert (response.status_code, response.json()["message"]) == (401, "Invalid API key")
    client.post(_url(team.shop, "projects:key_active", team.shop.key.pk), {"active": "1"})
    assert api.order({"id": "3", "total": 1}, raw).status_code == 201


def test_it_toggles_in_place_with_htmx(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(
        _url(team.shop, "projects:key_active", team.shop.key.pk),
        {"active": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.text.lstrip().startswith(f'<tr id="key-{team.shop.key.pk}"')
    assert '<span class="badge off">inactive</span>' in response.text
    assert not ApiKey.objects.get(pk=team.shop.key.pk).is_active


def test_it_deletes_a_key_after_confirmation(client: Client, team: Team, api: Api) -> None:
    raw = team.shop.key.key
    assert api.order({"id": "1", "total": 1}, raw).status_code == 201
    client.force_login(team.owner)
    url = _url(team.shop, "projects:key_delete", team.shop.key.pk)
    assert "will get 401 Invalid API key" in client.get(url).text
    assert client.post(url).status_code == 302
    assert not ApiKey.objects.filter(pk=team.shop.key.pk).exists()
    assert api.order({"id": "2", "total": 1}, raw).status_code == 401
    assert "No API keys yet." in client.get(_url(team.shop)).text


def test_it_says_what_is_wrong_and_writes_nothing(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(_url(team.shop), {"name": "x" * 101})
    assert "Ensure this value has at most 100 characters (it has 101)." in response.text
    response = client.post(_url(team.shop), {"name": " "})
    assert "This field is required." in response.text
    assert team.shop.project.api_keys.count() == 1


def test_it_refuses_viewers(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.viewer)
    pk = team.shop.key.pk
    assert 'name="name"' not in client.get(_url(team.shop)).text
    assert client.post(_url(team.shop), {"name": "Mine"}).status_code == 403
    assert (
        client.post(_url(team.shop, "projects:key_active", pk), {"active": "0"}).status_code == 403
    )
    assert client.post(_url(team.shop, "projects:key_delete", pk)).status_code == 403
    assert team.shop.project.api_keys.filter(is_active=True).count() == 1
    assert api.order({"id": "1", "total": 1}, team.shop.key.key).status_code == 201


def test_it_answers_404_to_outsiders(client: Client, team: Team, other_shop: Shop) -> None:
    client.force_login(team.outsider)
    pk = team.shop.key.pk
    assert client.get(_url(team.shop)).status_code == 404
    assert (
        client.post(_url(team.shop, "projects:key_active", pk), {"active": "0"}).status_code == 404
    )
    client.force_login(team.owner)
    foreign = other_shop.key.pk
    response = client.post(_url(team.shop, "projects:key_active", foreign), {"active": "0"})
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=foreign).is_active
    assert ApiKey.objects.get(pk=pk).is_active


def test_it_escapes_key_names(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    client.post(_url(team.shop), {"name": "<script>alert(1)</script>"})
    page = client.get(_url(team.shop)).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
