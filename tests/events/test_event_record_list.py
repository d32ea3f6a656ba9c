"""Records of one event: /projects/<id>/events/<event_id>/records/."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client

from orderreport.projects.models import Event
from tests.conftest import Team, make_shop
from tests.events.conftest import MakeRecord

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team, event: Event | None = None) -> str:
    return f"/projects/{team.shop.project.pk}/events/{(event or team.shop.event).pk}/records/"


def record_links(html: str) -> list[str]:
    return re.findall(r'href="/projects/\d+/records/(\d+)/"', html)


def test_it_lists_only_that_events_records(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    other = Event.objects.create(project=team.shop.project, name="Subscribe")
    mine = make_record(team.shop.event, T0)
    make_record(other, T0 + dt.timedelta(seconds=1))
    client.force_login(team.viewer)

    r = client.get(url(team))

    assert r.status_code == 200
    html = r.content.decode()
    assert record_links(html) == [str(mine.pk)]
    assert "Records of “Call-back”" in html
    assert 'name="event"' not in html  # the event is fixed by the URL


def test_it_polls_for_that_events_new_records(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    make_record(team.shop.event, T0)
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert (
        f'hx-get="/projects/{team.shop.project.pk}/events/{team.shop.event.pk}/records/new/?'
        in html
    )


def test_it_hides_the_project_from_an_outsider(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    assert client.get(url(team)).status_code == 404


def test_it_finds_no_event_of_another_project_under_this_projects_url(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    other = make_shop(domain="elsewhere.example")
    make_record(other.event, T0)
    client.force_login(team.owner)
    r = client.get(f"/projects/{team.shop.project.pk}/events/{other.event.pk}/records/")
    assert r.status_code == 404


def test_it_explains_a_bad_date(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    r = client.get(url(team), {"end": "2026-02-30"})
    assert r.status_code == 400
    assert "Enter a valid date." in r.content.decode()


def test_it_says_what_to_do_when_the_event_has_no_records(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert "No records yet" in html
