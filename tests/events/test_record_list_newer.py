"""The record lists' polling fragments: .../records/new/ and .../events/<id>/records/new/."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client

from orderreport.listing.queries import Cursor
from orderreport.projects.models import Event
from tests.conftest import Team, make_shop
from tests.events.conftest import MakeRecord

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def record_links(html: str) -> list[str]:
    return re.findall(r'href="/projects/\d+/records/(\d+)/"', html)


def test_it_returns_only_records_newer_than_the_newest_shown(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    make_record(team.shop.event, T0 - dt.timedelta(seconds=1))
    shown = make_record(team.shop.event, T0)
    tie = make_record(team.shop.event, T0)
    new = make_record(team.shop.event, T0 + dt.timedelta(seconds=1))
    client.force_login(team.viewer)

    r = client.get(
        f"/projects/{team.shop.project.pk}/records/new/", {"since": Cursor.of(shown).encode()}
    )

    assert r.status_code == 200
    html = r.content.decode()
    assert record_links(html) == [str(new.pk), str(tie.pk)]
    assert f"since={Cursor.of(new).encode()}" in html


def test_it_brings_only_the_events_own_records_on_its_list(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    other = Event.objects.create(project=team.shop.project, name="Subscribe")
    shown = make_record(team.shop.event, T0)
    make_record(other, T0 + dt.timedelta(seconds=1))
    client.force_login(team.owner)
    path = f"/projects/{team.shop.project.pk}/events/{team.shop.event.pk}/records/new/"
    assert client.get(path, {"since": Cursor.of(shown).encode()}).status_code == 204
    mine = make_record(team.shop.event, T0 + dt.timedelta(seconds=2))
    html = client.get(path, {"since": Cursor.of(shown).encode()}).content.decode()
    assert record_links(html) == [str(mine.pk)]


def test_it_never_brings_another_projects_records(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    shown = make_record(team.shop.event, T0)
    make_record(make_shop(domain="elsewhere.example").event, T0 + dt.timedelta(seconds=1))
    client.force_login(team.owner)
    r = client.get(
        f"/projects/{team.shop.project.pk}/records/new/", {"since": Cursor.of(shown).encode()}
    )
    assert r.status_code == 204


def test_it_reloads_an_empty_list_when_the_first_record_arrives(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    client.force_login(team.owner)
    path = f"/projects/{team.shop.project.pk}/records/new/"
    assert client.get(path, {"since": ""}).status_code == 204
    make_record(team.shop.event)
    assert client.get(path, {"since": ""})["HX-Refresh"] == "true"


def test_it_hides_the_project_from_an_outsider(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    path = f"/projects/{team.shop.project.pk}/records/new/"
    assert client.get(path, {"since": ""}).status_code == 404


def test_it_rejects_a_damaged_cursor(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    path = f"/projects/{team.shop.project.pk}/records/new/"
    assert client.get(path, {"since": "zzz"}).status_code == 400


def test_it_reloads_the_page_when_the_session_has_ended(team: Team, client: Client) -> None:
    path = f"/projects/{team.shop.project.pk}/events/{team.shop.event.pk}/records/new/"
    r = client.get(path, {"since": ""})
    assert r["HX-Refresh"] == "true"
    assert r.content == b""
