from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.events.models import EventRecord
from orderreport.projects.models import Event
from tests.conftest import Api, Shop, Team


def _url(shop: Shop, name: str = "projects:events", *more: int) -> str:
    return reverse(name, args=[shop.project.pk, *more])


def _send(api: Api, shop: Shop, event_key: str | None = None) -> int:
    body = {"event": event_key or shop.event.key, "data": []}
    return int(api.event(body, shop.key.key).status_code)


def test_it_creates_an_event_with_a_key_to_copy(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.admin)
    response = client.post(_url(team.shop), {"name": "Newsletter"})
    assert response.status_code == 302
    event = Event.objects.get(project=team.shop.project, name="Newsletter")
    assert len(event.key) == 12
    page = client.get(_url(team.shop)).text
    assert f'data-copy="{event.key}"' in page
    # The new key works on the very next request, even though the project was cached.
    assert _send(api, team.shop, event.key) == 201


def test_it_shows_how_many_records_each_event_received(
    client: Client, team: Team, api: Api
) -> None:
    for _ in range(3):
        assert _send(api, team.shop) == 201
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    assert EventRecord.objects.filter(event=team.shop.event).count() == 3
    row = page.split(f'id="event-{team.shop.event.pk}"')[1].split("</tr>")[0]
    assert ">3<" in row


@pytest.mark.urls("tests.projects.records_urls")
def test_it_links_the_count_to_the_records_once_that_page_exists(
    client: Client, team: Team
) -> None:
    client.force_login(team.owner)
    page = client.get(_url(team.shop)).text
    url = reverse("events:event_records", args=[team.shop.project.pk, team.shop.event.pk])
    assert f'<a href="{url}">0</a>' in page


def test_it_deactivates_and_the_api_says_so_at_once(client: Client, team: Team, api: Api) -> None:
    assert _send(api, team.shop) == 201
    client.force_login(team.admin)
    url = _url(team.shop, "projects:event_active", team.shop.event.pk)
    assert client.post(url, {"active": "0"}).status_code == 302
    response = api.event({"event": team.shop.event.key, "data": []}, team.shop.key.key)
    assert (response.status_code, response.json()["message"]) == (401, "Event is not active")
    response = client.post(url, {"active": "1"}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith("<tr")
    assert _send(api, team.shop) == 201


def test_it_renames_and_keeps_the_key(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    url = _url(team.shop, "projects:event_rename", team.shop.event.pk)
    assert 'value="Call-back"' in client.get(url).text
    assert client.post(url, {"name": "Call me back"}).status_code == 302
    event = Event.objects.get(pk=team.shop.event.pk)
    assert (event.name, event.key) == ("Call me back", team.shop.event.key)


def test_it_refuses_a_second_event_with_the_same_name(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(_url(team.shop), {"name": "call-back"})
    assert "An event named “call-back” already exists." in response.text
    other = Event.objects.create(project=team.shop.project, name="Other")
    response = client.post(
        _url(team.shop, "projects:event_rename", other.pk), {"name": "Call-back"}
    )
    assert "An event named “Call-back” already exists." in response.text
    assert 'value="Call-back"' in response.text
    assert Event.objects.get(pk=other.pk).name == "Other"
    assert team.shop.project.events.count() == 2


def test_it_says_what_is_wrong_and_writes_nothing(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(_url(team.shop), {"name": ""})
    assert "This field is required." in response.text
    response = client.post(_url(team.shop), {"name": "y" * 201})
    assert "Ensure this value has at most 200 characters (it has 201)." in response.text
    assert team.shop.project.events.count() == 1


def test_it_deletes_an_event_with_its_records_after_confirmation(
    client: Client, team: Team, api: Api
) -> None:
    assert _send(api, team.shop) == 201
    client.force_login(team.owner)
    url = _url(team.shop, "projects:event_delete", team.shop.event.pk)
    assert "Its 1 received record is deleted with it" in client.get(url).text
    assert client.post(url).status_code == 302
    assert not Event.objects.filter(pk=team.shop.event.pk).exists()
    assert not EventRecord.objects.filter(project=team.shop.project).exists()
    response = api.event({"event": team.shop.event.key, "data": []}, team.shop.key.key)
    assert (response.status_code, response.json()["message"]) == (401, "Invalid event key")
    assert "No events yet." in client.get(_url(team.shop)).text


def test_it_refuses_viewers(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    pk = team.shop.event.pk
    assert 'name="name"' not in client.get(_url(team.shop)).text
    assert client.post(_url(team.shop), {"name": "Mine"}).status_code == 403
    assert (
        client.post(_url(team.shop, "projects:event_active", pk), {"active": "0"}).status_code
        == 403
    )
    assert (
        client.post(_url(team.shop, "projects:event_rename", pk), {"name": "X"}).status_code == 403
    )
    assert client.post(_url(team.shop, "projects:event_delete", pk)).status_code == 403
    # Pages that only exist to change something are not shown either.
    assert client.get(_url(team.shop, "projects:event_rename", pk)).status_code == 403
    assert client.get(_url(team.shop, "projects:event_delete", pk)).status_code == 403
    event = Event.objects.get(pk=pk)
    assert (event.name, event.is_active) == ("Call-back", True)
    assert team.shop.project.events.count() == 1


def test_it_answers_404_to_outsiders(client: Client, team: Team, other_shop: Shop) -> None:
    client.force_login(team.outsider)
    pk = team.shop.event.pk
    assert client.get(_url(team.shop)).status_code == 404
    assert client.get(_url(team.shop, "projects:event_rename", pk)).status_code == 404
    assert client.post(_url(team.shop, "projects:event_delete", pk)).status_code == 404
    client.force_login(team.owner)
    foreign = other_shop.event.pk
    response = client.post(_url(team.shop, "projects:event_rename", foreign), {"name": "Mine"})
    assert response.status_code == 404
    assert Event.objects.get(pk=foreign).name == "Call-back"
    assert Event.objects.filter(pk=pk).exists()


def test_it_escapes_event_names(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    client.post(_url(team.shop), {"name": "<script>alert(1)</script>"})
    page = client.get(_url(team.shop)).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
