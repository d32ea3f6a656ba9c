"""The event record export: .../records/export/ and .../events/<id>/records/export/."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
from django.test import Client

from orderreport.projects.models import Event
from tests.conftest import Team
from tests.events.conftest import MakeRecord

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team, event: Event | None = None) -> str:
    base = f"/projects/{team.shop.project.pk}/"
    return base + (f"events/{event.pk}/records/export/" if event else "records/export/")


def content(r: Any) -> bytes:
    return b"".join(r.streaming_content)


def csv_rows(r: Any) -> list[list[str]]:
    body = content(r)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_it_exports_records_as_csv(team: Team, client: Client, make_record: MakeRecord) -> None:
    team.shop.project.timezone = "Asia/Tokyo"
    team.shop.project.save()
    make_record(
        team.shop.event,
        T0,
        data=[{"name": "Имя", "value": "Анна"}, {"name": "Phone", "value": "+7 900 000-00-00"}],
        origin="https://example.com/contact",
    )
    client.force_login(team.owner)

    r = client.get(url(team), {"format": "csv"})

    assert r.status_code == 200
    assert r["Content-Disposition"].startswith('attachment; filename="records-shop-')
    rows = csv_rows(r)
    assert rows == [
        ["Received (Asia/Tokyo)", "Event", "Data", "Origin", "Client address"],
        [
            "2026-05-01 21:00:00",
            "Call-back",
            "Имя: Анна; Phone: +7 900 000-00-00",
            "https://example.com/contact",
            "",
        ],
    ]


def test_the_header_is_in_the_viewers_language(team: Team, client: Client) -> None:
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    assert csv_rows(client.get(url(team)))[0][:2] == ["Получено (UTC)", "Событие"]


def test_an_empty_list_gives_only_the_header(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    assert len(csv_rows(client.get(url(team)))) == 1


def test_it_keeps_the_filters(team: Team, client: Client, make_record: MakeRecord) -> None:
    other = Event.objects.create(project=team.shop.project, name="Quiz")
    make_record(team.shop.event, T0, data=[{"name": "n", "value": "alpha"}])
    make_record(team.shop.event, T0 - dt.timedelta(days=5), data=[{"name": "n", "value": "beta"}])
    make_record(other, T0, data=[{"name": "n", "value": "gamma"}])
    client.force_login(team.owner)

    def data(path: str, **params: str) -> list[str]:
        return sorted(row[2] for row in csv_rows(client.get(path, params))[1:])

    assert data(url(team)) == ["n: alpha", "n: beta", "n: gamma"]
    assert data(url(team), event=str(other.pk)) == ["n: gamma"]
    assert data(url(team, team.shop.event)) == ["n: alpha", "n: beta"]
    assert data(url(team), start="2026-05-01") == ["n: alpha", "n: gamma"]
    assert data(url(team), q="BET") == ["n: beta"]


def test_formulas_are_neutralised(team: Team, client: Client, make_record: MakeRecord) -> None:
    make_record(team.shop.event, T0, data=[{"name": "=cmd", "value": "x"}])
    client.force_login(team.owner)
    assert csv_rows(client.get(url(team)))[1][2] == "'=cmd: x"


def test_it_exports_xlsx(team: Team, client: Client, make_record: MakeRecord) -> None:
    make_record(team.shop.event, T0, data=[{"name": "Name", "value": "John"}])
    client.force_login(team.owner)
    r = client.get(url(team, team.shop.event), {"format": "xlsx"})
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(content(r)), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Received (UTC)"
    assert rows[1][:3] == ["2026-05-01 12:00:00", "Call-back", "Name: John"]


def test_a_viewer_may_export(team: Team, client: Client, make_record: MakeRecord) -> None:
    make_record(team.shop.event, T0)
    client.force_login(team.viewer)
    r = client.get(url(team))
    assert r.status_code == 200
    assert len(csv_rows(r)) == 2


def test_an_outsider_gets_404(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    assert client.get(url(team)).status_code == 404
    assert client.get(url(team, team.shop.event)).status_code == 404


def test_the_list_offers_the_export(team: Team, client: Client) -> None:
    client.force_login(team.viewer)
    page = client.get(f"/projects/{team.shop.project.pk}/records/", {"q": "x"}).content.decode()
    assert f'action="{url(team)}"' in page
    assert '<input type="hidden" name="q" value="x">' in page
    assert "Export Excel" in page
    assert 'name="lines"' not in page
