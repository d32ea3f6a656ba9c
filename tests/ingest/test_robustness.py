"""No input gets a 500 or an HTML page: every answer is the contract's JSON error or a 201."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderreport.events.models import EventRecord
from orderreport.orders.models import Order
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error

PATHS = ["/api/orders/track", "/api/events/track"]
KNOWN = {201, 401, 402, 403, 409, 413, 422, 429}


def assert_json_answer(response: Any) -> dict[str, Any]:
    assert response.status_code in KNOWN, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content)
    assert isinstance(body.get("message"), str) and body["message"]
    return body


BODIES = {
    "empty": b"",
    "whitespace": b"  \n\t ",
    "garbage": bytes(range(256)),
    "invalid utf-8": b'{"id": "\xff\xfe", "total": 1}',
    "utf-8 bom": b'\xef\xbb\xbf{"id": "x", "total": 1}',
    "utf-16": '{"id": "x", "total": 1}'.encode("utf-16"),
    "truncated": b'{"id": "x", "tot',
    "trailing garbage": b'{"id": "x", "total": 1} xyz',
    "two objects": b'{"id": "x", "total": 1}{"id": "y", "total": 1}',
    "nested objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "nested arrays": b'{"id": "x", "total": 1, "data": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    "unclosed nesting": b"[" * 60000,
    "huge integer total": b'{"id": "x", "total": ' + b"9" * 5000 + b"}",
    "huge integer id": b'{"id": ' + b"9" * 5000 + b', "total": 1}',
    "huge integer value": b'{"id": "x", "total": 1, "data": [{"name": "n", "value": 1'
    + b"0" * 4400
    + b"}]}",
    "huge float": b'{"id": "x", "total": 1e400}',
    "huge float value": b'{"id": "x", "total": 1, "data": [{"name": "n", "value": 1e400}]}',
    "NaN": b'{"id": "x", "total": NaN}',
    "Infinity": b'{"id": "x", "total": Infinity}',
    "-Infinity": b'{"id": "x", "total": -Infinity}',
    "NaN value": b'{"id": "x", "total": 1, "data": [{"name": "n", "value": NaN}]}',
    "lone surrogate": b'{"id": "\\ud800", "total": 1}',
    "lone surrogate with long number": b'{"id": "\\udc00", "total": 12345678901234567890123}',
    "escaped NUL": b'{"id": "x", "total": 1, "username": "a\\u0000b"}',
    "raw NUL": b'{"id": "x\x00", "total": 1}',
    "array": b"[]",
    "array of objects": b'[{"id": "x", "total": 1}]',
    "string": b'"hello"',
    "null": b"null",
    "number": b"12",
    "true": b"true",
    "duplicate keys": b'{"id": "x", "id": "y", "total": 1}',
    "keys not strings": b"{1: 2}",
    "single quotes": b"{'id': 'x', 'total': 1}",
    "comments": b'{"id": "x", /* hi */ "total": 1}',
    "form encoded": b"id=x&total=1",
    "xml": b"<order><id>x</id></order>",
    "event as number": b'{"event": 5, "data": []}',
    "event as object": b'{"event": {"k": 1}, "data": [{"name": {}, "value": []}]}',
    "products as object": b'{"id": "x", "total": 1, "products": {"0": {}}}',
    "deep products": b'{"id": "x", "total": 1, "products": [{"name": [[[[]]]]}]}',
    "emoji and rtl": '{"id": "🧾\u202e", "total": 1, "username": "مرحبا 👋"}'.encode(),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_it_answers_json_to_any_body(api: Api, shop: Shop, path: str, body: bytes) -> None:
    assert_json_answer(api.post(path, body, shop.key.key))


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/json; charset=latin-1",
        "",
        "garbage/\x00",
    ],
)
def test_it_reads_the_body_whatever_the_content_type(
    client: Client, shop: Shop, content_type: str
) -> None:
    response = client.generic(
        "POST",
        "/api/orders/track",
        b'{"id": "x", "total": 1}',
        content_type=content_type,
        HTTP_X_API_KEY=shop.key.key,
        HTTP_ORIGIN=shop.origin,
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "key",
    [
        "x" * 10_000,
        "or_\x00",
        "\x00",
        "ключ".encode().decode("latin-1"),
        "or_abc\r\nX-Injected: 1",
        "' OR 1=1 --",
        "%00",
    ],
)
def test_it_answers_401_to_any_garbage_key(api: Api, shop: Shop, key: str) -> None:
    response = api.order({"id": "x", "total": 1}, key)
    assert_error(response, 401, "Invalid API key", "invalid_api_key")


@pytest.mark.parametrize(
    "origin",
    [
        "x" * 10_000,
        "https://example.com\x00",
        "https://\x00",
        "https://пример.рф".encode().decode("latin-1")[:-1],
        "\xff\xfe",
        "https://example.com\r\nSet-Cookie: a=b",
        "https://[::1",
        "https://[zzzz::1]",
        "https://999.999.999.999",
        "https://" + "a." * 200 + "com",
    ],
)
def test_it_answers_403_to_any_garbage_origin(api: Api, shop: Shop, origin: str) -> None:
    response = api.order({"id": "x", "total": 1}, shop.key.key, origin=origin)
    assert response.status_code == 403
    assert_json_answer(response)
    assert "\n" not in response.get("Access-Control-Allow-Origin", "")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_USER_AGENT": "agent\x00with nul"},
        {"HTTP_USER_AGENT": "ü" * 600},
        {"REMOTE_ADDR": ""},
        {"HTTP_X_FORWARDED_FOR": "\x00, 1.2.3.4"},
    ],
)
def test_it_stores_any_metadata_it_is_given(api: Api, shop: Shop, headers: dict[str, str]) -> None:
    response = api.order({"id": "x", "total": 1}, shop.key.key, **headers)
    assert response.status_code == 201, response.content
    stored = Order.objects.get()
    assert "\x00" not in stored.user_agent
    assert len(stored.user_agent) <= 512


# --- property tests ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD = st.sampled_from(
    ["id", "total", "currency", "phone", "email", "username", "products", "data", "event"]
)
ITEM_FIELD = st.sampled_from(["name", "price", "count", "image", "value"])
ITEMS = st.lists(st.dictionaries(ITEM_FIELD, JSON_VALUES, max_size=5), max_size=3)
PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUES,
        "total": JSON_VALUES,
        "currency": JSON_VALUES | st.sampled_from(["RUB", "usd", "", "ZZZ"]),
        "phone": JSON_VALUES,
        "email": JSON_VALUES | st.emails(),
        "username": JSON_VALUES,
        "products": ITEMS | JSON_VALUES,
        "data": ITEMS | JSON_VALUES,
        "event": JSON_VALUES,
    },
) | st.dictionaries(FIELD, JSON_VALUES, max_size=9)

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(payload=PAYLOADS, path=st.sampled_from(PATHS))
def test_it_answers_any_json_object_with_json(
    api: Api, shop: Shop, payload: dict[str, Any], path: str
) -> None:
    response = api.post(path, json.dumps(payload), shop.key.key)
    body = assert_json_answer(response)
    assert response.status_code in (201, 401, 409, 422)
    if response.status_code == 422:
        assert body["code"] in ("validation_error", "invalid_payload")
    if response.status_code == 201 and path == PATHS[0]:
        assert Order.objects.filter(project=shop.project, external_id=body["id"]).exists()


@PROPERTY
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_it_answers_any_bytes_with_json(api: Api, shop: Shop, raw: bytes) -> None:
    assert_json_answer(api.order(raw, shop.key.key))
    assert_json_answer(api.event(raw, shop.key.key))


def test_it_never_stored_a_half_written_row(api: Api, shop: Shop) -> None:
    # The body answers 422 and the order table stays empty: validation precedes any write.
    api.order(b'{"id": "x", "total": 1, "products": [{"name": "n"}]}', shop.key.key)
    assert not Order.objects.exists()
    assert not EventRecord.objects.exists()


@pytest.mark.parametrize("host", ["evil.example", "bad host!", "example.com:99999999"])
@pytest.mark.parametrize("path", [*PATHS, "/api/nope"])
def test_it_answers_a_disallowed_host_in_json(api: Api, shop: Shop, host: str, path: str) -> None:
    response = api.post(path, {"id": "x", "total": 1}, shop.key.key, HTTP_HOST=host)
    assert_error(response, 400, "Bad request", "bad_request")
    assert not Order.objects.exists()
