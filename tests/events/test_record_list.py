"""Records of all events: /projects/<id>/records/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from orderreport.listing.queries import PAGE_SIZE
from orderreport.projects.models import Event
from tests.conftest import Team, make_shop
from tests.events.conftest import MakeRecord

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def url(team: Team) -> str:
    return f"/projects/{team.shop.project.pk}/records/"


def record_links(html: str) -> list[str]:
    return re.findall(r'href="/projects/\d+/records/(\d+)/"', html)


def test_it_lists_records_of_every_event_newest_first(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    other = Event.objects.create(project=team.shop.project, name="Subscribe")
    a = make_record(team.shop.event, T0, data=[{"name": "Имя", "value": "Анна"}])
    b = make_record(other, T0 + dt.timedelta(seconds=1))
    client.force_login(team.viewer)

    r = client.get(url(team))

    assert r.status_code == 200
    html = r.content.decode()
    assert record_links(html) == [str(b.pk), str(a.pk)]
    assert "Subscribe" in html and "Call-back" in html
    assert "Анна" in html


def test_it_hides_the_project_from_an_outsider(team: Team, client: Client) -> None:
    client.force_login(team.outsider)
    assert client.get(url(team)).status_code == 404


def test_it_never_shows_another_tenants_records(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    other = make_shop(domain="elsewhere.example")
    make_record(other.event, T0)
    mine = make_record(team.shop.event, T0)
    client.force_login(team.owner)
    assert record_links(client.get(url(team)).content.decode()) == [str(mine.pk)]


def test_it_filters_by_event_and_value(team: Team, client: Client, make_record: MakeRecord) -> None:
    other = Event.objects.create(project=team.shop.project, name="Subscribe")
    a = make_record(team.shop.event, T0, data=[{"name": "Phone", "value": "+7 999"}])
    b = make_record(other, T0, data=[{"name": "Phone", "value": "+1 555"}])
    client.force_login(team.owner)
    assert record_links(client.get(url(team), {"event": other.pk}).content.decode()) == [str(b.pk)]
    assert record_links(client.get(url(team), {"q": "999"}).content.decode()) == [str(a.pk)]


def test_it_reads_dates_in_the_projects_time_zone(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    team.shop.project.timezone = "America/New_York"  # UTC-4 in May
    team.shop.project.save()
    before = make_record(team.shop.event, dt.datetime(2026, 5, 2, 3, 59, tzinfo=dt.UTC))
    inside = make_record(team.shop.event, dt.datetime(2026, 5, 2, 4, 0, tzinfo=dt.UTC))
    client.force_login(team.owner)
    html = client.get(url(team), {"start": "2026-05-02", "end": "2026-05-02"}).content.decode()
    assert record_links(html) == [str(inside.pk)]
    assert str(before.pk) not in record_links(html)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "31.02.2026"}, "Enter a valid date."),
        ({"event": "999999"}, "Select a valid choice."),
        ({"event": "abc"}, "Select a valid choice."),
        ({"after": "1.x"}, "This page link is damaged."),
    ],
)
def test_it_explains_a_filter_it_cannot_read(
    team: Team, client: Client, query: dict[str, str], message: str
) -> None:
    client.force_login(team.owner)
    r = client.get(url(team), query)
    assert r.status_code == 400
    assert message in r.content.decode()


def test_it_does_not_offer_another_projects_event_as_a_filter(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    other = make_shop(domain="elsewhere.example")
    client.force_login(team.owner)
    r = client.get(url(team), {"event": other.event.pk})
    assert r.status_code == 400
    html = r.content.decode()
    assert "Select a valid choice." in html
    assert f'<option value="{other.event.pk}"' not in html
    assert f'<option value="{team.shop.event.pk}"' in html


def test_it_pages_with_an_older_records_link(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    for i in range(PAGE_SIZE + 2):
        make_record(team.shop.event, T0 - dt.timedelta(seconds=i // 4))
    client.force_login(team.owner)
    first = client.get(url(team)).content.decode()
    link = re.search(r'rel="next" href="([^"]+)"', first)
    assert link is not None
    second = client.get(url(team) + link.group(1).replace("&amp;", "&")).content.decode()
    both = record_links(first) + record_links(second)
    assert len(record_links(first)) == PAGE_SIZE
    assert len(set(both)) == len(both) == PAGE_SIZE + 2


def test_it_escapes_customer_data(team: Team, client: Client, make_record: MakeRecord) -> None:
    make_record(
        team.shop.event,
        data=[{"name": "<script>n</script>", "value": "<script>v</script>"}],
        origin="<script>o</script>",
    )
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert "<script>" not in html.split("</head>")[1]
    assert "&lt;script&gt;v&lt;/script&gt;" in html


def test_it_says_what_to_do_when_there_are_no_records(team: Team, client: Client) -> None:
    client.force_login(team.owner)
    html = client.get(url(team)).content.decode()
    assert "No records yet" in html
    assert 'hx-trigger="every 5s"' in html


def test_it_searches_past_data_the_api_would_never_store(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    make_record(team.shop.event, T0, data={"name": "x"})
    make_record(team.shop.event, T0, data=["text", {"name": "n", "value": "findme"}])
    client.force_login(team.owner)
    r = client.get(url(team), {"q": "findme"})
    assert r.status_code == 200
    assert len(record_links(r.content.decode())) == 1


def test_it_counts_records_and_goes_back_one_page(
    team: Team, client: Client, make_record: MakeRecord
) -> None:
    for i in range(PAGE_SIZE + 2):
        make_record(team.shop.event, T0 - dt.timedelta(seconds=i // 4))
    client.force_login(team.owner)
    first = client.get(url(team)).content.decode()
    assert '<span class="count">1–50 of 52</span>' in first  # noqa: RUF001
    link = re.search(r'rel="next" href="([^"]+)"', first)
    assert link is not None
    second = client.get(url(team) + link.group(1).replace("&amp;", "&")).content.decode()
    assert '<span class="count">51–52 of 52</span>' in second  # noqa: RUF001
    back = re.search(r'rel="prev" href="([^"]+)"', second)
    assert back is not None
    again = client.get(url(team) + back.group(1).replace("&amp;", "&")).content.decode()
    assert record_links(again) == record_links(first)
