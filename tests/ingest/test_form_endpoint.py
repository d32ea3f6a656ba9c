"""POST /f/<event_key>: a form's action URL, answered for browsers, AJAX and scripts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orderreport.events.models import EventRecord
from orderreport.notify.models import Delivery
from orderreport.projects.models import Domain, Event, generate_form_token
from tests.conftest import Shop, make_shop
from tests.ingest.form_helpers import (
    BROWSER_ACCEPT,
    Forms,
    multipart,
    only_record,
    pairs_of,
    records,
    urlencoded,
)
from tests.ingest.helpers import assert_error
from tests.notify.conftest import webhook_channel

MULTIPART = "multipart/form-data; boundary=----b0undary"
LEAD = [("Имя", "Анна"), ("Телефон", "+7 900 000-00-00"), ("Интересы", "окна"),
        ("Интересы", "двери")]  # fmt: skip


def thanks_back(response: Any) -> str | None:
    """The link back our thank-you page will show, from the 303's Location."""
    location = urlsplit(response["Location"])
    assert location.path == "/forms/thanks/", response["Location"]
    signed = parse_qs(location.query)["back"][0]
    back: str = signing.loads(signed, salt="orderreport.forms.thanks")
    return back


# --- Browsers: a plain HTML form ----------------------------------------------------------------


def test_it_redirects_a_browser_to_next_and_stores_the_fields_in_order(
    forms: Forms, shop: Shop
) -> None:
    pairs = [*LEAD, ("_next", "https://example.com/thanks?from=form"), ("_gotcha", "")]
    response = forms.browser(shop, pairs)
    assert response.status_code == 303
    assert response["Location"] == "https://example.com/thanks?from=form"
    record = only_record(shop)
    # Repeated names are kept as repeated pairs, in order; controls are not data.
    assert pairs_of(record) == LEAD
    assert record.event_id == shop.event.pk
    assert record.origin == "https://example.com"
    assert (record.spam, record.spam_reason) == (False, "")


def test_it_redirects_to_our_thank_you_page_without_next(forms: Forms, shop: Shop) -> None:
    response = forms.browser(shop, LEAD, referer="https://www.example.com/contact?x=1")
    assert response.status_code == 303
    assert thanks_back(response) == "https://www.example.com/contact?x=1"
    assert only_record(shop)


def test_the_thank_you_page_speaks_the_visitors_language(forms: Forms, shop: Shop) -> None:
    location = forms.browser(shop, LEAD)["Location"]
    page = Client().get(location, HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Спасибо!" in text
    assert 'href="https://example.com/contact"' in text
    english = Client().get(location, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Thank you!" in english


def test_the_thank_you_page_links_back_only_to_what_we_signed(client: Client) -> None:
    forged = signing.dumps("https://evil.example/", salt="another salt")
    for query in (f"?back={forged}", "?back=https://evil.example/", ""):
        page = client.get("/forms/thanks/" + query)
        assert page.status_code == 200
        assert "evil.example" not in page.content.decode()
        assert "Back to the site" not in page.content.decode()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/",
        "https://example.com@evil.example/",
        "https://evil.example\\@example.com/",
        "https://example.com.evil.example/",
        "javascript:alert(1)",
        "/relative/thanks",
        "https://example.com/\r\nSet-Cookie: x=1",
        "ftp://example.com/",
    ],
)
def test_it_ignores_a_next_outside_the_projects_domains(
    forms: Forms, shop: Shop, target: str
) -> None:
    response = forms.browser(shop, [*LEAD, ("_next", target)])
    assert response.status_code == 303
    assert urlsplit(response["Location"]).netloc == ""  # our own page, never theirs
    assert thanks_back(response) == "https://example.com/contact"
    assert only_record(shop)


def test_it_allows_next_on_any_active_domain_of_the_project(forms: Forms, shop: Shop) -> None:
    Domain.objects.create(project=shop.project, host="*.shop.example")
    Domain.objects.create(project=shop.project, host="old.example", is_active=False)
    answer = forms.browser(shop, [("a", "1"), ("_next", "https://pay.shop.example/ok")])
    assert answer["Location"] == "https://pay.shop.example/ok"
    answer = forms.browser(shop, [("a", "1"), ("_next", "https://old.example/ok")])
    assert urlsplit(answer["Location"]).path == "/forms/thanks/"


def test_a_browser_without_origin_is_checked_by_its_referer(forms: Forms, shop: Shop) -> None:
    response = forms.browser(shop, LEAD, origin=None, referer="https://www.example.com/a")
    assert response.status_code == 303
    assert only_record(shop).origin == "https://www.example.com"


# --- AJAX and scripts ---------------------------------------------------------------------------


def test_an_ajax_post_gets_the_tracking_apis_answer(forms: Forms, shop: Shop) -> None:
    response = forms.form(shop, LEAD, accept="application/json")
    assert response.status_code == 201
    record = only_record(shop)
    assert response.json() == {"message": "Event tracked", "id": str(record.pk)}
    assert response["Access-Control-Allow-Origin"] == "https://example.com"
    assert response["Vary"] == "Origin"


@pytest.mark.parametrize("accept", ["*/*", None, "application/json, text/html;q=0.9"])
def test_a_script_gets_json(forms: Forms, shop: Shop, accept: str | None) -> None:
    response = forms.form(shop, LEAD, accept=accept)
    assert response.status_code == 201
    assert response.json()["message"] == "Event tracked"


def test_it_answers_the_cors_preflight(client: Client, shop: Shop) -> None:
    response = client.options(f"/f/{shop.event.key}", HTTP_ORIGIN="https://example.com")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://example.com"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]


def test_it_takes_multipart_fields(forms: Forms, shop: Shop) -> None:
    body = multipart([("Имя", "Анна"), ("_next", "https://example.com/t"), ("Имя", "Борис")])
    response = forms.post(
        f"/f/{shop.event.key}", body, "multipart/form-data; boundary=----b0undary"
    )
    assert response.status_code == 201, response.content
    assert pairs_of(only_record(shop)) == [("Имя", "Анна"), ("Имя", "Борис")]


def test_it_takes_an_empty_file_input(forms: Forms, shop: Shop) -> None:
    # What a browser sends for <input type=file> left empty.
    body = (
        b'------b0undary\r\nContent-Disposition: form-data; name="cv"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        b'------b0undary\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b"------b0undary--\r\n"
    )
    response = forms.post(f"/f/{shop.event.key}", body, MULTIPART)
    assert response.status_code == 201, response.content
    assert pairs_of(only_record(shop)) == [("a", "1")]


def test_it_takes_a_flat_json_object(forms: Forms, shop: Shop) -> None:
    body = json.dumps({"Имя": "Анна", "Возраст": 30, "Цвета": ["red", "blue"], "_gotcha": ""})
    response = forms.post(f"/f/{shop.event.key}", body, "application/json")
    assert response.status_code == 201, response.content
    assert pairs_of(only_record(shop)) == [
        ("Имя", "Анна"), ("Возраст", "30"), ("Цвета", "red"), ("Цвета", "blue")
    ]  # fmt: skip


def test_it_keeps_other_json_values_as_json_text(forms: Forms, shop: Shop) -> None:
    # A builder's nested order data is kept, not refused with the lead.
    body = json.dumps({"Имя": "Анна", "payment": {"sum": 1500, "products": ["Стул"]},
                       "agree": True, "promo": None})  # fmt: skip
    response = forms.post(f"/f/{shop.event.key}", body, "application/json")
    assert response.status_code == 201, response.content
    assert pairs_of(only_record(shop)) == [
        ("Имя", "Анна"), ("payment", '{"sum":1500,"products":["Стул"]}'), ("agree", "true"),
        ("promo", ""),
    ]  # fmt: skip


def test_it_redirects_to_a_next_on_an_internationalised_domain(forms: Forms, shop: Shop) -> None:
    Domain.objects.create(project=shop.project, host="xn--e1afmkfd.xn--p1ai")
    response = forms.browser(shop, [("a", "1"), ("_next", "https://пример.рф/спасибо")])
    assert response["Location"] == (
        "https://xn--e1afmkfd.xn--p1ai/%D1%81%D0%BF%D0%B0%D1%81%D0%B8%D0%B1%D0%BE"
    )


def test_it_takes_the_tracking_apis_json_shape(forms: Forms, shop: Shop) -> None:
    body = {"event": "ignored", "data": [{"name": "Имя", "value": "Анна"},
                                        {"name": "n", "value": 7}]}  # fmt: skip
    response = forms.post(f"/f/{shop.event.key}", json.dumps(body), "application/json")
    assert response.status_code == 201, response.content
    assert pairs_of(only_record(shop)) == [("Имя", "Анна"), ("n", "7")]


def test_it_takes_raw_utf8_and_a_declared_charset(forms: Forms, shop: Shop) -> None:
    path = f"/f/{shop.event.key}"
    assert forms.post(path, "Имя=Анна".encode()).status_code == 201
    cp1251 = "Имя=Анна".encode("cp1251")
    assert forms.post(path, cp1251, "application/x-www-form-urlencoded; charset=windows-1251")
    assert [pairs_of(r) for r in records(shop)] == [[("Имя", "Анна")], [("Имя", "Анна")]]


# --- Notifications, caching, tenants ------------------------------------------------------------


def test_a_form_post_is_notified_like_an_event(forms: Forms, shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/hook").events.add(shop.event)
    assert forms.form(shop, LEAD).status_code == 201
    assert list(Delivery.objects.values_list("event_record_id", flat=True)) == [
        only_record(shop).pk
    ]


def test_a_cached_event_key_costs_no_lookup(forms: Forms, shop: Shop) -> None:
    def lookups() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert forms.form(shop, LEAD).status_code == 201
        return sum('"projects_event"."key" =' in q["sql"] for q in queries)

    assert lookups() == 1  # the first post reads the event and caches it
    assert lookups() == 0


def test_it_follows_changes_to_the_event_and_domains_at_once(forms: Forms, shop: Shop) -> None:
    assert forms.form(shop, LEAD).status_code == 201  # cached now
    shop.event.is_active = False
    shop.event.save()
    assert_error(forms.form(shop, LEAD), 401, "Event is not active", "event_inactive")
    shop.event.is_active = True
    shop.event.save()
    shop.domain.is_active = False
    shop.domain.save()
    assert_error(forms.form(shop, LEAD), 403, "Domain not allowed", "domain_not_allowed")
    shop.domain.is_active = True
    shop.domain.save()
    old_key = shop.event.key
    shop.event.key = "renamed-key"
    shop.event.save()
    response = forms.post(f"/f/{old_key}", urlencoded(LEAD))
    assert_error(response, 401, "Invalid event key", "invalid_event_key")
    assert forms.form(shop, LEAD).status_code == 201


def test_a_deleted_event_gets_the_tracking_401(forms: Forms, shop: Shop) -> None:
    assert forms.form(shop, LEAD).status_code == 201  # cached now
    key = shop.event.key
    Event.objects.filter(pk=shop.event.pk).delete()
    for accept in ("application/json", BROWSER_ACCEPT):
        response = forms.post(f"/f/{key}", urlencoded(LEAD), accept=accept)
        assert response.status_code == 401
    assert_error(forms.post(f"/f/{key}", urlencoded(LEAD)), 401, "Invalid event key",
                 "invalid_event_key")  # fmt: skip
    assert not EventRecord.objects.exists()


def test_a_project_cannot_post_to_another_projects_event(
    forms: Forms, shop: Shop, other_shop: Shop
) -> None:
    # other.example is the other project's domain, not this event's.
    response = forms.form(shop, LEAD, origin=other_shop.origin)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    assert forms.form(other_shop, LEAD, origin=other_shop.origin).status_code == 201
    assert records(shop) == []
    assert only_record(other_shop).project_id == other_shop.project.pk


def test_a_form_token_is_not_an_event_key(forms: Forms, shop: Shop) -> None:
    response = forms.post(f"/f/{shop.event.form_token}", urlencoded(LEAD))
    assert_error(response, 401, "Invalid event key", "invalid_event_key")
    response = forms.hook(shop.event.key, urlencoded(LEAD))
    assert_error(response, 401, "Invalid form token", "invalid_form_token")
    assert not EventRecord.objects.exists()


def test_same_domain_in_two_projects_records_by_the_key(forms: Forms, shop: Shop) -> None:
    twin = make_shop(domain="example.com")
    assert forms.form(twin, LEAD).status_code == 201
    assert records(shop) == [] and len(records(twin)) == 1
    assert generate_form_token() != twin.event.form_token
