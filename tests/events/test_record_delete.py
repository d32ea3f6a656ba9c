"""Deleting an event record: /projects/<id>/records/<record_pk>/delete/."""

from __future__ import annotations

from django.test import Client

from orderreport.events.models import EventRecord
from tests.conftest import Team, make_shop
from tests.events.conftest import MakeRecord


def url(record: EventRecord) -> str:
    return f"/projects/{record.project_id}/records/{record.pk}/delete/"


def test_it_asks_for_confirmation_first(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    record = make_record(team.shop.event)
    client.force_login(team.owner)
    r = client.get(url(record))
    assert r.status_code == 200
    assert "Delete this record of “Call-back”?" in r.content.decode()
    assert EventRecord.objects.filter(pk=record.pk).exists()


def test_it_deletes_for_an_admin(team: Team, client: Client, make_record: MakeRecord) -> None:
    record = make_record(team.shop.event)
    client.force_login(team.admin)
    r = client.post(url(record), follow=True)
    p, e = team.shop.project.pk, team.shop.event.pk
    assert r.redirect_chain[-1][0] == f"/projects/{p}/events/{e}/records/"
    assert "Record deleted." in r.content.decode()
    assert not EventRecord.objects.filter(pk=record.pk).exists()


def test_it_forbids_a_viewer(team: Team, client: Client, make_record: MakeRecord) -> None:
    record = make_record(team.shop.event)
    client.force_login(team.viewer)
    assert client.get(url(record)).status_code == 403
    assert client.post(url(record)).status_code == 403
    assert EventRecord.objects.filter(pk=record.pk).exists()


def test_it_hides_the_record_from_an_outsider(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    record = make_record(team.shop.event)
    client.force_login(team.outsider)
    assert client.post(url(record)).status_code == 404
    assert EventRecord.objects.filter(pk=record.pk).exists()


def test_it_cannot_delete_another_projects_record_through_this_project(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    theirs = make_record(make_shop(domain="elsewhere.example").event)
    client.force_login(team.owner)
    r = client.post(f"/projects/{team.shop.project.pk}/records/{theirs.pk}/delete/")
    assert r.status_code == 404
    assert EventRecord.objects.filter(pk=theirs.pk).exists()
