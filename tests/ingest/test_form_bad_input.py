"""POST /f/<event_key> refuses what it cannot take, storing nothing: every error, as JSON for
scripts and as a readable page (same status) for a browser's form post."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from orderreport.events.models import EventRecord
from orderreport.projects.models import Event
from tests.conftest import Shop
from tests.ingest.form_helpers import BROWSER_ACCEPT, Forms, multipart, urlencoded
from tests.ingest.helpers import assert_error, assert_invalid

LIMIT = 64 * 1024
MULTIPART = "multipart/form-data; boundary=----b0undary"


def assert_page(response: Any, status: int, *texts: str) -> str:
    """A readable HTML page for the visitor, with the status kept."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page: str = response.content.decode()
    for text in texts:
        assert text in page, (text, page)
    assert "default-src 'none'" in response["Content-Security-Policy"]
    return page


@pytest.fixture(autouse=True)
def _nothing_stored(db: None) -> Any:
    yield
    assert not EventRecord.objects.exists()


# --- Keys and origins ---------------------------------------------------------------------------


def test_it_refuses_an_unknown_event_key(forms: Forms, shop: Shop) -> None:
    response = forms.post("/f/no-such-key", urlencoded([("a", "1")]))
    assert_error(response, 401, "Invalid event key", "invalid_event_key")
    page = forms.post("/f/no-such-key", urlencoded([("a", "1")]), accept=BROWSER_ACCEPT)
    assert_page(page, 401, "This form is not connected", "Invalid event key")


def test_it_refuses_an_inactive_event(forms: Forms, shop: Shop) -> None:
    Event.objects.filter(pk=shop.event.pk).update(is_active=False)
    assert_error(forms.form(shop, [("a", "1")]), 401, "Event is not active", "event_inactive")
    assert_page(forms.browser(shop, [("a", "1")]), 401, "This form is switched off")


def test_it_refuses_a_post_without_origin_or_referer(forms: Forms, shop: Shop) -> None:
    response = forms.form(shop, [("a", "1")], origin=None)
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


@pytest.mark.parametrize("origin", ["null", "example.com", "https://example.com/path"])
def test_it_refuses_a_malformed_origin(forms: Forms, shop: Shop, origin: str) -> None:
    response = forms.form(shop, [("a", "1")], origin=origin)
    assert_error(response, 403, "Invalid Origin header", "invalid_origin")


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        ("https://evil.example", None),
        ("https://example.com.evil.example", None),
        (None, "https://evil.example/contact"),
        # The Origin decides when there is one; a Referer cannot vouch for it.
        ("https://evil.example", "https://example.com/contact"),
    ],
)
def test_it_refuses_a_domain_outside_the_project(
    forms: Forms, shop: Shop, origin: str | None, referer: str | None
) -> None:
    response = forms.form(shop, [("a", "1")], origin=origin, referer=referer)
    assert_error(response, 403, "Domain not allowed", "domain_not_allowed")
    page = forms.form(shop, [("a", "1")], origin=origin, referer=referer, accept=BROWSER_ACCEPT)
    assert_page(page, 403, "This form cannot be sent from this page")


def test_the_error_page_speaks_russian(forms: Forms, shop: Shop) -> None:
    response = forms.browser(
        shop, [("a", "1")], origin="https://evil.example", HTTP_ACCEPT_LANGUAGE="ru,en;q=0.5"
    )
    title = "Эту форму нельзя отправить с этой страницы"  # noqa: RUF001
    page = assert_page(response, 403, title, "Ошибка 403")
    assert '<html lang="ru">' in page
    assert 'href="https://example.com/contact"' in page  # back to where the visitor was


def test_other_methods_get_405(forms: Forms, client: Client, shop: Shop) -> None:
    response = client.get(f"/f/{shop.event.key}")
    assert_error(response, 405, "Method not allowed", "method_not_allowed")
    assert response["Allow"] == "POST, OPTIONS"
    page = client.get(f"/f/{shop.event.key}", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert_page(page, 405, "This address only receives forms")


# --- Bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [LIMIT + 1, 3 * LIMIT])
def test_it_answers_413_for_a_larger_body(forms: Forms, shop: Shop, size: int) -> None:
    body = b"a=" + b"x" * (size - 2)
    response = forms.post(f"/f/{shop.event.key}", body)
    assert_error(response, 413, "Payload too large", "payload_too_large")
    page = forms.post(f"/f/{shop.event.key}", body, accept=BROWSER_ACCEPT)
    assert_page(page, 413, "The form is too large")


def test_it_refuses_a_file(forms: Forms, shop: Shop) -> None:
    body = (
        b'------b0undary\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnna\r\n'
        b'------b0undary\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 ...\r\n------b0undary--\r\n"
    )
    response = forms.post(f"/f/{shop.event.key}", body, MULTIPART)
    body_json = assert_error(response, 422, "Files are not accepted", "file_not_accepted")
    assert list(body_json["errors"]) == ["cv"]
    page = forms.post(f"/f/{shop.event.key}", body, MULTIPART, accept=BROWSER_ACCEPT)
    assert_page(page, 422, "Files are not accepted", "cv")


def test_it_refuses_more_than_100_fields(forms: Forms, shop: Shop) -> None:
    pairs = [(f"f{n}", "x") for n in range(101)]
    errors = assert_invalid(forms.form(shop, pairs))
    assert errors == {"body": ["A form may send at most 100 fields; this one sent 101."]}
    # Controls do not count; 100 data fields are fine (and stored: cleaned up below).
    ok = forms.form(shop, [*pairs[:100], ("_next", "https://example.com/"), ("_gotcha", "")])
    assert ok.status_code == 201
    EventRecord.objects.all().delete()


def test_it_refuses_a_flood_of_fields_before_parsing_them_all(forms: Forms, shop: Shop) -> None:
    errors = assert_invalid(forms.post(f"/f/{shop.event.key}", b"&".join([b"_x="] * 5000)))
    assert errors == {"body": ["A form may send at most 100 fields."]}


def test_it_names_a_value_over_the_limit(forms: Forms, shop: Shop) -> None:
    pairs = [("Имя", "Анна"), ("Комментарий", "я" * 10_001)]
    errors = assert_invalid(forms.form(shop, pairs))
    assert errors == {"Комментарий": ["Must be at most 10,000 characters; this one has 10,001."]}
    page = forms.browser(shop, pairs)
    assert_page(page, 422, "Some fields could not be accepted", "Комментарий")


def test_it_names_a_name_over_the_limit_and_a_nul(forms: Forms, shop: Shop) -> None:
    errors = assert_invalid(forms.form(shop, [("n" * 256, "x"), ("ok", "a\x00b")]))
    assert errors == {
        "n" * 60 + "…": ["The name is longer than 255 characters."],
        "ok": ["Must not contain NUL characters."],
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"name=%D0%98%FF", "application/x-www-form-urlencoded"),  # percent-encoded non-UTF-8
        (b"name=\xff\xfe", "application/x-www-form-urlencoded"),  # raw non-UTF-8
        (b"name=%zz&b=1", "application/x-www-form-urlencoded"),  # a broken escape
        (b"name=%D0", "application/x-www-form-urlencoded"),  # half a character
        (b"name=x", "application/x-www-form-urlencoded; charset=x-unknown"),
        (b"name=x", "application/x-www-form-urlencoded; charset=rot13"),
        (multipart([("name", b"\xff\xfe")]), MULTIPART),
    ],
)
def test_it_refuses_an_invalid_encoding(
    forms: Forms, shop: Shop, body: bytes, content_type: str
) -> None:
    response = forms.post(f"/f/{shop.event.key}", body, content_type)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_encoding"
    assert "UTF-8" in response.json()["message"] or "percent" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff"}', b"[1, 2]", b"not json", b'{"a": "\\ud800"}'],
)
def test_it_refuses_bad_json(forms: Forms, shop: Shop, body: bytes) -> None:
    response = forms.post(f"/f/{shop.event.key}", body, "application/json")
    assert_error(response, 422, "Invalid data payload", "invalid_payload")


def test_it_names_a_json_value_over_the_limit(forms: Forms, shop: Shop) -> None:
    body = json.dumps({"ok": "x", "nested": {"a": "x" * 10_000}})
    errors = assert_invalid(forms.post(f"/f/{shop.event.key}", body, "application/json"))
    assert list(errors) == ["nested"]
    shaped = json.dumps({"data": [{"name": "a", "value": "x" * 10_001}]})
    errors = assert_invalid(forms.post(f"/f/{shop.event.key}", shaped, "application/json"))
    assert list(errors) == ["data.0.value"]


@pytest.mark.parametrize(
    "body",
    [
        # Cut short: no closing delimiter.
        b'------b0undary\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n',
        # A part without a name.
        b"------b0undary\r\nContent-Disposition: form-data\r\n\r\n1\r\n------b0undary--\r\n",
    ],
)
def test_it_refuses_a_broken_multipart_body(forms: Forms, shop: Shop, body: bytes) -> None:
    response = forms.post(f"/f/{shop.event.key}", body, MULTIPART)
    assert_error(response, 422, "Invalid data payload", "invalid_payload")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_it_refuses_other_content_types(forms: Forms, shop: Shop, content_type: str) -> None:
    response = forms.post(f"/f/{shop.event.key}", b"a=1", content_type)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert "application/x-www-form-urlencoded" in response.json()["message"]
