"""413 for bodies over API_MAX_BODY_BYTES (64 KiB unless configured)."""

from __future__ import annotations

from typing import Any

import pytest

from orderreport.orders.models import Order
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_error

LIMIT = 64 * 1024


def body_of(size: int) -> bytes:
    """A valid order body of exactly `size` bytes."""
    head, tail = b'{"id": "big", "total": 1, "pad": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_it_accepts_a_body_of_exactly_64_kib(api: Api, shop: Shop) -> None:
    assert api.order(body_of(LIMIT), shop.key.key).status_code == 201


@pytest.mark.parametrize("size", [LIMIT + 1, 2 * LIMIT, 3 * 1024 * 1024])
@pytest.mark.parametrize("path", ["/api/orders/track", "/api/events/track"])
def test_it_answers_413_for_a_larger_body(api: Api, shop: Shop, size: int, path: str) -> None:
    response = api.post(path, body_of(size), shop.key.key)
    assert_error(response, 413, "Payload too large", "payload_too_large")
    assert not Order.objects.exists()


def test_it_answers_413_on_the_declared_length_alone(api: Api, shop: Shop) -> None:
    # A client announcing a huge body is refused before any of it is read.
    response = api.order(b"{}", shop.key.key, CONTENT_LENGTH=str(10 * 1024 * 1024))
    assert_error(response, 413, "Payload too large", "payload_too_large")


def test_it_follows_the_configured_limit(api: Api, shop: Shop, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 2048
    assert api.order(body_of(2048), shop.key.key).status_code == 201
    response = api.order(body_of(2049), shop.key.key)
    assert_error(response, 413, "Payload too large", "payload_too_large")


def test_it_reads_no_more_than_the_declared_length(api: Api, shop: Shop) -> None:
    # A body longer than its Content-Length is cut there, as HTTP says; the cut JSON is
    # then not a JSON object, never a 500 and never a stored order.
    response = api.order(body_of(LIMIT + 10), shop.key.key, CONTENT_LENGTH="100")
    assert_error(response, 422, "Invalid data payload", "invalid_payload")
    assert not Order.objects.exists()


@pytest.mark.parametrize("declared", ["abc", "-5", ""])
def test_it_survives_a_nonsense_content_length(api: Api, shop: Shop, declared: str) -> None:
    # WSGI reads no body without a valid length: an empty body, not a 500.
    response = api.order(b'{"id": "x", "total": 1}', shop.key.key, CONTENT_LENGTH=declared)
    assert_error(response, 422, "Invalid data payload", "invalid_payload")
