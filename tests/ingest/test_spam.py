"""The spam rules (ingest/spam.py), alone and at intake: flagged, answered as a success,
stored, never notified nor counted, never dropped."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import pytest

from orderreport.events.models import EventTally
from orderreport.ingest import spam
from orderreport.notify.models import Delivery
from tests.conftest import Shop
from tests.ingest.form_helpers import Forms, only_record, pairs_of, records
from tests.ingest.helpers import assert_error
from tests.notify.conftest import webhook_channel

LEAD = [("Имя", "Анна"), ("Телефон", "+7 900 000-00-00")]


# --- The rules ----------------------------------------------------------------------------------


def test_a_filled_honeypot_is_spam() -> None:
    assert spam.verdict(["Анна"], honeypot="x") == "honeypot"
    assert spam.verdict(["Анна"], honeypot="  ") == ""


def test_too_fast_is_spam_after_the_honeypot() -> None:
    assert spam.verdict(["Анна"], over_rate=True) == "rate"
    assert spam.verdict(["Анна"], honeypot="x", over_rate=True) == "honeypot"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (["Анна", "see https://a.example, http://b.example www.c.example"], ""),
        (["Анна", "https://a.example http://b.example www.c.example https://d.example"], "links"),
        (
            ["a http://a.example/x", "b http://b.example", "c www.c.example", "d https://d.x"],
            "links",
        ),
        (["https://www.one.example"], "only_urls"),
        (["http://a.example/p?q=1", "", "www.b.example"], "only_urls"),
        (["Анна", "https://shop.example/item/1"], ""),
        (["", "  "], ""),
        ([], ""),
    ],
)
def test_content_rules(values: list[str], reason: str) -> None:
    assert spam.verdict(values) == reason


def test_the_link_limit_is_a_setting(settings: Any) -> None:
    settings.FORM_SPAM_MAX_LINKS = 0
    assert spam.verdict(["Анна", "my site: https://a.example"]) == "links"
    settings.FORM_SPAM_MAX_LINKS = 10
    assert spam.verdict(["Анна"] + ["https://a.example"] * 10) == ""


def test_a_url_counts_once() -> None:
    assert spam.count_links(["https://www.example.com/a?b=http", "www.x.example"]) == 2


# --- At intake ----------------------------------------------------------------------------------


@pytest.fixture
def notified(shop: Shop) -> Any:
    """A channel that wants the shop's event: every record it is told of."""
    webhook_channel(shop, "https://example.com/hook").events.add(shop.event)
    return lambda: list(Delivery.objects.values_list("event_record_id", flat=True))


def assert_flagged(shop: Shop, reason: str) -> None:
    record = only_record(shop)
    assert (record.spam, record.spam_reason) == (True, reason)


def test_a_honeypot_hit_is_answered_as_a_success_and_kept(
    forms: Forms, shop: Shop, notified: Any
) -> None:
    pairs = [*LEAD, ("_gotcha", "http://bot.example"), ("_next", "https://example.com/ok")]
    response = forms.browser(shop, pairs)
    assert (response.status_code, response["Location"]) == (303, "https://example.com/ok")
    assert_flagged(shop, "honeypot")
    assert pairs_of(only_record(shop)) == LEAD
    assert notified() == []
    assert not EventTally.objects.exists()


def test_an_ajax_spam_post_gets_the_usual_json(forms: Forms, shop: Shop, notified: Any) -> None:
    response = forms.form(shop, [*LEAD, ("_gotcha", "x")])
    assert response.status_code == 201
    assert response.json() == {"message": "Event tracked", "id": str(only_record(shop).pk)}
    assert_flagged(shop, "honeypot")
    assert notified() == []


def test_too_many_links_and_only_urls_are_flagged(forms: Forms, shop: Shop, notified: Any) -> None:
    links = " ".join(f"https://s{n}.example" for n in range(4))
    assert forms.form(shop, [("Имя", "Bot"), ("Комментарий", links)]).status_code == 201
    assert forms.form(shop, [("Комментарий", "https://s.example")]).status_code == 201
    assert forms.form(shop, LEAD).status_code == 201
    stored = records(shop)
    assert [(r.spam, r.spam_reason) for r in stored] == [
        (True, "links"), (True, "only_urls"), (False, "")
    ]  # fmt: skip
    assert notified() == [stored[2].pk]
    assert sum(EventTally.objects.values_list("records", flat=True)) == 1


def test_posts_faster_than_the_form_rate_are_flagged_not_refused(
    forms: Forms, shop: Shop, notified: Any, settings: Any
) -> None:
    settings.FORM_RATE_PER_MINUTE = 2
    address = f"198.51.100.{secrets.randbelow(250) + 1}"
    other = f"203.0.113.{secrets.randbelow(250) + 1}"
    for _ in range(4):
        assert forms.form(shop, LEAD, REMOTE_ADDR=address).status_code == 201
    assert forms.form(shop, LEAD, REMOTE_ADDR=other).status_code == 201
    flags = [(r.spam, r.spam_reason) for r in records(shop)]
    assert flags == [(False, ""), (False, ""), (True, "rate"), (True, "rate"), (False, "")]
    assert len(notified()) == 3


def test_the_abuse_cap_answers_429_far_above_the_form_rate(
    forms: Forms, shop: Shop, settings: Any
) -> None:
    settings.FORM_RATE_PER_MINUTE = 1
    settings.RATE_LIMIT_IP_PER_SECOND = 0.001
    settings.RATE_LIMIT_IP_BURST = 3
    address = f"192.0.2.{secrets.randbelow(250) + 1}"
    for _ in range(3):
        assert forms.form(shop, LEAD, REMOTE_ADDR=address).status_code == 201
    response = forms.form(shop, LEAD, REMOTE_ADDR=address)
    assert_error(response, 429, "Too many requests", "rate_limited")
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
    assert [r.spam_reason for r in records(shop)] == ["", "rate", "rate"]


def test_webhook_posts_get_the_content_rules_not_the_rate(
    forms: Forms, shop: Shop, notified: Any, settings: Any
) -> None:
    settings.FORM_RATE_PER_MINUTE = 1
    token = shop.event.form_token
    links = " ".join(f"https://s{n}.example" for n in range(4))
    for body in (urlencode(LEAD), urlencode(LEAD), urlencode([("Comment", links)])):
        response = forms.hook(token, body)
        assert (response.status_code, response.content) == (200, b"ok")
    assert [r.spam_reason for r in records(shop)] == ["", "", "links"]
    assert len(notified()) == 2
