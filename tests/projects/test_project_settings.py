from __future__ import annotations

from django.test import Client
from django.urls import reverse

from orderreport.projects.models import ApiKey, Project
from tests.conftest import Api, Shop, Team


def _url(shop: Shop, name: str = "projects:settings") -> str:
    return reverse(name, args=[shop.project.pk])


def _save(client: Client, shop: Shop, **data: str) -> object:
    fields = {"name": "Renamed", "timezone": "Asia/Tashkent", "currency": "UZS"}
    fields.update(data)
    return client.post(_url(shop), fields)


def test_it_shows_and_saves_the_settings(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    page = client.get(_url(team.shop)).text
    assert '<option value="UTC" selected>' in page
    response = _save(client, team.shop)
    assert response.status_code == 302
    team.shop.project.refresh_from_db()
    project = team.shop.project
    assert (project.name, project.timezone, project.currency) == ("Renamed", "Asia/Tashkent", "UZS")


def test_it_shows_viewers_the_settings_without_forms(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    assert "Only owners and admins can change a project's settings." in page
    assert "<form" not in page.split("<main")[1]


def test_it_refuses_viewers(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    assert _save(client, team.shop).status_code == 403
    response = client.post(_url(team.shop, "projects:delete"), {"confirm": "Shop"})
    assert response.status_code == 403
    team.shop.project.refresh_from_db()
    assert team.shop.project.name == "Shop"


def test_it_answers_404_to_outsiders(client: Client, team: Team) -> None:
    client.force_login(team.outsider)
    assert client.get(_url(team.shop)).status_code == 404
    assert _save(client, team.shop).status_code == 404
    assert client.post(_url(team.shop, "projects:delete"), {"confirm": "Shop"}).status_code == 404
    assert Project.objects.filter(pk=team.shop.project.pk, name="Shop").exists()


def test_it_keeps_bad_input_and_says_what_is_wrong(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = _save(client, team.shop, name="Typed", timezone="Nowhere/Town")
    assert response.status_code == 200
    assert "Nowhere/Town is not a time zone" in response.text
    assert 'value="Typed"' in response.text
    team.shop.project.refresh_from_db()
    assert team.shop.project.name == "Shop"


def test_it_deletes_only_with_the_typed_name(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.owner)
    url = _url(team.shop, "projects:delete")
    response = client.post(url, {"confirm": "shop"})
    assert "That is not the project&#x27;s name. Type Shop exactly to delete it." in response.text
    assert Project.objects.filter(pk=team.shop.project.pk).exists()
    # The key works (and is now cached) before the project goes...
    assert api.order({"id": "1", "total": 1}, team.shop.key.key).status_code == 201
    response = client.post(url, {"confirm": "Shop"})
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")
    assert not Project.objects.filter(pk=team.shop.project.pk).exists()
    assert not ApiKey.objects.filter(pk=team.shop.key.pk).exists()
    # ...and is refused on the very next request.
    response = api.order({"id": "2", "total": 1}, team.shop.key.key)
    assert (response.status_code, response.json()["message"]) == (401, "Invalid API key")


def test_it_escapes_the_project_name(client: Client, team: Team) -> None:
    team.shop.project.name = '<script>alert("x")</script>'
    team.shop.project.save()
    client.force_login(team.owner)
    page = client.get(_url(team.shop)).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
