"""Spam among event records: kept out of the lists, shown under "Spam", and "not spam"."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from orderreport.events import tallies
from orderreport.events.models import EventRecord
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import Outcome
from orderreport.notify.models import Delivery
from orderreport.reports.figures import Period, report
from tests.conftest import Shop, Team
from tests.ingest.helpers import event_item
from tests.notify.conftest import webhook_channel

WHEN = dt.datetime(2026, 5, 1, 12, 30, tzinfo=dt.UTC)
MAY_1 = Period(dt.date(2026, 5, 1), dt.date(2026, 5, 1), ZoneInfo("UTC"))


def post_form(shop: Shop, value: str, reason: str = "") -> EventRecord:
    """A form post stored by the write side, as the form endpoints store it."""
    item = event_item(
        shop,
        form=True,
        received_at=WHEN,
        data=[{"name": "name", "value": value}],
        spam=bool(reason),
        spam_reason=reason,
    )
    (result,) = record_in_transaction([item])
    assert result.outcome == Outcome.CREATED
    return EventRecord.objects.get(pk=result.record_id)


@pytest.fixture
def records(team: Team) -> tuple[EventRecord, EventRecord]:
    return post_form(team.shop, "Real lead"), post_form(team.shop, "Bot lead", "honeypot")


def records_url(shop: Shop, **query: str) -> str:
    url = reverse("events:records", args=[shop.project.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def not_spam_url(record: EventRecord) -> str:
    return reverse("events:record_not_spam", args=[record.project_id, record.pk])


def test_it_keeps_spam_out_of_the_lists_exports_and_counts(
    client: Client, team: Team, records: tuple[EventRecord, EventRecord]
) -> None:
    shop = team.shop
    client.force_login(team.viewer)
    page = client.get(records_url(shop)).text
    assert "Real lead" in page and "Bot lead" not in page
    event_page = client.get(reverse("events:event_records", args=[shop.project.pk, shop.event.pk]))
    assert "Real lead" in event_page.text and "Bot lead" not in event_page.text
    export = client.get(reverse("events:records_export", args=[shop.project.pk]))
    body = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    assert "Real lead" in body and "Bot lead" not in body
    keys = client.get(reverse("projects:events", args=[shop.project.pk])).text
    assert f'/events/{shop.event.pk}/records/">1</a>' in keys
    assert report([shop.project.pk], MAY_1).leads == 1


def test_it_shows_only_spam_under_the_spam_filter_with_the_reason(
    client: Client, team: Team, records: tuple[EventRecord, EventRecord]
) -> None:
    client.force_login(team.viewer)
    page = client.get(records_url(team.shop, show="spam")).text
    assert "Bot lead" in page and "Real lead" not in page
    assert "The hidden anti-bot field was filled in" in page
    # A viewer sees spam but is not offered the button.
    assert not_spam_url(records[1]) not in page
    client.post("/language/", {"language": "ru", "next": "/"})
    ru = client.get(records_url(team.shop, show="spam"))
    assert "Скрытое поле против ботов заполнено" in ru.text


def test_it_says_when_there_is_no_spam(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    page = client.get(records_url(team.shop, show="spam")).text
    assert "No spam here." in page


def test_it_counts_and_notifies_a_record_marked_not_spam(
    client: Client, team: Team, records: tuple[EventRecord, EventRecord]
) -> None:
    shop = team.shop
    chose = webhook_channel(shop, "https://example.com/a")
    chose.events.add(shop.event)
    also = webhook_channel(shop, "https://example.com/b")
    also.events.add(shop.event)
    webhook_channel(shop, "https://example.com/c")  # did not choose the event
    off = webhook_channel(shop, "https://example.com/d", is_active=False)
    off.events.add(shop.event)
    _real, bot = records
    client.force_login(team.admin)
    list_url = records_url(shop, show="spam")
    page = client.get(list_url).text
    assert not_spam_url(bot) in page
    response = client.post(not_spam_url(bot), {"next": list_url})
    assert response.status_code == 302 and response["Location"] == list_url
    bot.refresh_from_db()
    assert (bot.spam, bot.spam_reason) == (False, "")
    assert report([shop.project.pk], MAY_1).leads == 2
    queued = Delivery.objects.filter(event_record=bot, topic=Delivery.Topic.EVENT)
    assert sorted(queued.values_list("channel_id", flat=True)) == sorted([chose.pk, also.pk])
    assert "Bot lead" in client.get(records_url(shop)).text
    # A second click (or another member's) counts and notifies nothing more.
    client.post(not_spam_url(bot))
    assert report([shop.project.pk], MAY_1).leads == 2
    assert queued.count() == 2


def test_its_counts_survive_a_rebuild_and_a_delete(
    team: Team, records: tuple[EventRecord, EventRecord]
) -> None:
    shop = team.shop
    assert tallies.rebuild([shop.project.pk]) == 1
    assert report([shop.project.pk], MAY_1).leads == 1
    _real, bot = records
    bot.delete()
    tallies.forget(bot)  # as the delete page does: spam was never counted
    assert report([shop.project.pk], MAY_1).leads == 1


def test_it_marks_not_spam_from_the_record_page(
    client: Client, team: Team, records: tuple[EventRecord, EventRecord]
) -> None:
    _real, bot = records
    client.force_login(team.owner)
    detail = reverse("events:record_detail", args=[bot.project_id, bot.pk])
    assert "the hidden anti-bot field was filled in" in client.get(detail).text
    response = client.post(not_spam_url(bot), {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == detail
    assert "counted and notified" in response.text


def test_it_refuses_viewers_and_outsiders(
    client: Client, team: Team, other_shop: Shop, records: tuple[EventRecord, EventRecord]
) -> None:
    _real, bot = records
    client.force_login(team.viewer)
    assert client.post(not_spam_url(bot)).status_code == 403
    client.force_login(team.outsider)
    assert client.post(not_spam_url(bot)).status_code == 404
    # Another tenant's record under this project's address: not found either.
    theirs = post_form(other_shop, "Their bot", "links")
    client.force_login(team.owner)
    url = reverse("events:record_not_spam", args=[team.shop.project.pk, theirs.pk])
    assert client.post(url).status_code == 404
    assert client.get(not_spam_url(bot)).status_code == 405
    bot.refresh_from_db()
    theirs.refresh_from_db()
    assert bot.spam and theirs.spam


def test_the_read_api_leaves_spam_out(
    client: Client, team: Team, records: tuple[EventRecord, EventRecord]
) -> None:
    from orderreport.projects.services import create_server_key

    _key, raw = create_server_key(team.shop.project, "CRM")
    answer = client.get("/api/external/events", headers={"X-API-KEY": raw}).json()
    assert [i["data"][0]["value"] for i in answer["events"]] == ["Real lead"]


def test_the_lists_polling_sees_no_spam(client: Client, team: Team) -> None:
    post_form(team.shop, "Bot lead", "only_urls")
    client.force_login(team.viewer)
    newer = reverse("events:records_newer", args=[team.shop.project.pk])
    # An empty page polls with since="": spam alone does not make it reload.
    assert client.get(newer, {"since": ""}).status_code == 204
    reloaded = client.get(newer, {"since": "", "show": "spam"})
    assert reloaded.headers.get("HX-Refresh") == "true"
