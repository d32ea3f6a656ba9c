"""One event record: /projects/<id>/records/<record_pk>/."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from orderreport.events.models import EventRecord
from tests.conftest import Team, make_shop
from tests.events.conftest import MakeRecord


def url(record: EventRecord) -> str:
    return f"/projects/{record.project_id}/records/{record.pk}/"


def test_it_shows_the_record(team: Team, client: Client, make_record: MakeRecord) -> None:
    team.shop.project.timezone = "Asia/Tokyo"
    team.shop.project.save()
    record = make_record(
        team.shop.event,
        dt.datetime(2026, 5, 1, 20, 0, tzinfo=dt.UTC),
        data=[{"name": "Имя", "value": "John Doe"}, {"name": "Телефон", "value": "+998901112233"}],
        origin="https://example.com",
        client_ip="198.51.100.4",
        user_agent="curl/8.5.0",
    )
    client.force_login(team.owner)

    r = client.get(url(record))

    assert r.status_code == 200
    html = r.content.decode()
    assert "<dt>Имя</dt><dd>John Doe</dd>" in html
    assert "<dt>Телефон</dt><dd>+998901112233</dd>" in html
    assert "https://example.com" in html and "198.51.100.4" in html and "curl/8.5.0" in html
    assert 'datetime="2026-05-02T05:00:00+09:00"' in html
    assert "Delete this record" in html


def test_it_lets_a_viewer_read_without_a_delete_button(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    record = make_record(team.shop.event)
    client.force_login(team.viewer)
    r = client.get(url(record))
    assert r.status_code == 200
    assert "Delete this record" not in r.content.decode()


def test_it_escapes_customer_data(team: Team, client: Client, make_record: MakeRecord) -> None:
    evil = "<script>alert(1)</script>"
    record = make_record(
        team.shop.event, data=[{"name": evil, "value": evil}], origin=evil, user_agent=evil
    )
    client.force_login(team.owner)
    html = client.get(url(record)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_hides_the_record_from_an_outsider(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    record = make_record(team.shop.event)
    client.force_login(team.outsider)
    assert client.get(url(record)).status_code == 404


def test_it_finds_no_record_of_another_project_under_this_projects_url(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    theirs = make_record(make_shop(domain="elsewhere.example").event)
    client.force_login(team.owner)
    assert client.get(f"/projects/{team.shop.project.pk}/records/{theirs.pk}/").status_code == 404
