"""POST /hooks/forms/<token>: site builders' server-to-server posts (Tilda)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from orderreport.events.models import EventRecord
from orderreport.notify.models import Delivery
from orderreport.projects.models import Event, generate_form_token
from tests.conftest import Shop
from tests.ingest.form_helpers import Forms, only_record, pairs_of, records
from tests.ingest.helpers import assert_error, assert_invalid
from tests.notify.conftest import webhook_channel

# What Tilda posts for a form with its standard fields, "send cookies" switched on.
TILDA_POST = [
    ("Name", "Анна Петрова"),
    ("Phone", "+7 (900) 000-00-00"),
    ("Email", "anna@example.com"),
    ("Comment", "Перезвоните после 18:00"),
    ("tranid", "1234567:8901234567"),
    ("formid", "form123456789"),
    ("COOKIES", "_ym_uid=1700000000; roistat_visit=12; tildasid=abc"),
]


def ok(response: object) -> None:
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    assert response.content == b"ok"  # type: ignore[attr-defined]


def test_it_answers_tildas_connection_test_and_records_nothing(forms: Forms, shop: Shop) -> None:
    ok(forms.hook(shop.event.form_token, b"test=test"))
    ok(forms.hook(shop.event.form_token, b"test=test&tranid=0:0&formid=0"))
    ok(forms.hook(shop.event.form_token, json.dumps({"test": "test"}), "application/json"))
    assert not EventRecord.objects.exists()


def test_it_records_a_tilda_post_with_its_fields_as_data(forms: Forms, shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/hook").events.add(shop.event)
    ok(forms.hook(shop.event.form_token, urlencode(TILDA_POST), HTTP_USER_AGENT="Tilda.cc"))
    record = only_record(shop)
    # Tilda's ids of the submission and of the form stay; the visitor's cookies do not.
    assert pairs_of(record) == TILDA_POST[:-1]
    assert record.event_id == shop.event.pk
    assert (record.origin, record.user_agent, record.spam) == ("", "Tilda.cc", False)
    assert list(Delivery.objects.values_list("event_record_id", flat=True)) == [record.pk]


def test_it_records_a_json_post(forms: Forms, shop: Shop) -> None:
    body = json.dumps({"Name": "Анна", "Phone": "+7 900"})
    ok(forms.hook(shop.event.form_token, body, "application/json"))
    assert pairs_of(only_record(shop)) == [("Name", "Анна"), ("Phone", "+7 900")]


def test_it_needs_no_origin_and_takes_any(forms: Forms, shop: Shop) -> None:
    ok(forms.hook(shop.event.form_token, b"a=1", origin="https://evil.example"))
    assert only_record(shop).origin == "https://evil.example"


def test_it_refuses_an_unknown_token(forms: Forms, shop: Shop) -> None:
    response = forms.hook(generate_form_token(), urlencode(TILDA_POST))
    assert_error(response, 401, "Invalid form token", "invalid_form_token")
    response = forms.hook(generate_form_token(), b"test=test")  # the connection test too
    assert_error(response, 401, "Invalid form token", "invalid_form_token")
    assert not EventRecord.objects.exists()


def test_a_rotated_token_stops_working_at_once(forms: Forms, shop: Shop) -> None:
    old = shop.event.form_token
    ok(forms.hook(old, b"a=1"))  # cached now
    shop.event.form_token = generate_form_token()
    shop.event.save()
    assert_error(forms.hook(old, b"a=2"), 401, "Invalid form token", "invalid_form_token")
    ok(forms.hook(shop.event.form_token, b"a=3"))
    assert [pairs_of(r) for r in records(shop)] == [[("a", "1")], [("a", "3")]]


def test_a_deleted_or_inactive_event_refuses_posts(forms: Forms, shop: Shop) -> None:
    token = shop.event.form_token
    ok(forms.hook(token, b"a=1"))
    Event.objects.filter(pk=shop.event.pk).update(is_active=False)
    shop.event.save(update_fields=["name"])  # the signal, as the dashboard's toggle sends it
    assert_error(forms.hook(token, b"a=2"), 401, "Event is not active", "event_inactive")
    Event.objects.get(pk=shop.event.pk).delete()
    assert_error(forms.hook(token, b"a=3"), 401, "Invalid form token", "invalid_form_token")


def test_a_token_records_into_its_own_event_only(
    forms: Forms, shop: Shop, other_shop: Shop
) -> None:
    ok(forms.hook(other_shop.event.form_token, b"a=1"))
    assert records(shop) == []
    assert only_record(other_shop).event_id == other_shop.event.pk


def test_it_refuses_bad_input_like_the_form_endpoint(forms: Forms, shop: Shop) -> None:
    token = shop.event.form_token
    big = b"a=" + b"x" * (64 * 1024)
    assert_error(forms.hook(token, big), 413, "Payload too large", "payload_too_large")
    errors = assert_invalid(forms.hook(token, urlencode([("c", "я" * 10_001)])))
    assert list(errors) == ["c"]
    response = forms.hook(token, b"a=%FF")
    assert response.status_code == 422 and response.json()["code"] == "invalid_encoding"
    assert forms.hook(token, b"a=1", "text/plain").status_code == 415
    assert not EventRecord.objects.exists()


def test_it_is_rate_limited_per_event_not_per_address(
    forms: Forms, shop: Shop, other_shop: Shop, settings: object
) -> None:
    settings.RATE_LIMIT_KEY_PER_SECOND = 0.001  # type: ignore[attr-defined]
    settings.RATE_LIMIT_KEY_BURST = 2  # type: ignore[attr-defined]
    settings.RATE_LIMIT_IP_PER_SECOND = 0.001  # type: ignore[attr-defined]
    settings.RATE_LIMIT_IP_BURST = 1  # type: ignore[attr-defined]
    token = shop.event.form_token
    ok(forms.hook(token, b"a=1"))
    ok(forms.hook(token, b"a=2"))  # a builder's server: no per-address limit
    response = forms.hook(token, b"a=3")
    assert_error(response, 429, "Too many requests", "rate_limited")
    assert int(response["Retry-After"]) >= 1
    ok(forms.hook(other_shop.event.form_token, b"a=1"))  # another event, its own budget
    assert len(records(shop)) == 2


def test_the_urlconf_serves_the_same_endpoints(shop: Shop) -> None:
    # runserver and reverse(): the Django views behind the same functions.
    from django.urls import reverse

    client = Client()
    url = reverse("form-hook", kwargs={"token": shop.event.form_token})
    response = client.post(url, "test=test", content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.content) == (200, b"ok")
    url = reverse("form-post", kwargs={"key": shop.event.key})
    response = client.post(
        url, "a=1", content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN=shop.origin, HTTP_ACCEPT="application/json",
    )  # fmt: skip
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/hooks/forms/", "/hooks/forms/a/b", "/f/", "/f/a/b"])
def test_other_paths_are_not_endpoints(client: Client, path: str) -> None:
    assert client.post(path, "a=1", content_type="text/plain").status_code == 404


def test_production_serves_both_endpoints_without_the_sites_chain(shop: Shop) -> None:
    from tests.ingest.form_helpers import BROWSER_ACCEPT
    from tests.ingest.test_hot_path import wsgi_call

    form = {"CONTENT_TYPE": "application/x-www-form-urlencoded"}
    status, headers, content = wsgi_call(
        "POST", f"/f/{shop.event.key}", b"a=1", HTTP_ORIGIN=shop.origin,
        HTTP_ACCEPT=BROWSER_ACCEPT, **form,
    )  # fmt: skip
    assert status == 303
    assert headers["location"].startswith("/forms/thanks/?back=")
    assert "x-frame-options" not in headers and "set-cookie" not in headers
    status, headers, content = wsgi_call(
        "POST", f"/hooks/forms/{shop.event.form_token}/", b"test=test", **form
    )
    assert (status, content) == (200, b"ok")
    assert "x-frame-options" not in headers
    status, headers, content = wsgi_call("GET", "/forms/thanks/")
    assert status == 200 and headers["x-frame-options"] == "DENY"  # a page of the site
    assert len(records(shop)) == 1
