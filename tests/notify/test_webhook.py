"""Webhook channels against a local receiver that verifies the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from pydantic import ValidationError

from orderreport.notify.config import WebhookConfig
from orderreport.notify.models import Channel, Delivery
from tests.conftest import Api, Shop
from tests.notify.conftest import (
    Receiver,
    place_order,
    plain_secret,
    run_worker,
    webhook_channel,
)
from tests.notify.servers import LocalHTTPServer, Request


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The recipe from docs/notifications.md, as a receiver would write it."""
    timestamp = headers["x-orderreport-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers["x-orderreport-signature"], "v1=" + expected.hexdigest())


def test_it_posts_a_signed_order(api: Api, shop: Shop, receiver: Receiver) -> None:
    channel = webhook_channel(shop, receiver.url + "/hooks/orders")
    place_order(api, shop, username="<b>Evil</b>")
    run_worker()

    (request,) = receiver.requests
    assert request.path == "/hooks/orders"
    assert request.headers["content-type"] == "application/json"
    assert verify(plain_secret(channel), request.headers, request.body)
    assert not verify("whsec_wrong", request.headers, request.body)
    body = request.json()
    order = shop.project.orders.get()
    delivery = Delivery.objects.get()
    assert body["version"] == 1
    assert body["type"] == "order.created"
    assert body["delivery_id"] == str(delivery.pk) == request.headers["x-orderreport-delivery"]
    assert body["project"] == {"id": shop.project.pk, "name": "Shop"}
    assert body["order"]["id"] == "order-100234"
    assert body["order"]["total"] == 99000
    assert body["order"]["currency"] == "RUB"
    assert body["order"]["username"] == "<b>Evil</b>"  # JSON carries data as it came
    assert body["order"]["products"][0]["name"] == "Sneakers X"
    assert body["order"]["data"][0] == {"name": "Имя", "value": "John Doe"}
    assert body["order"]["url"].endswith(f"/projects/{shop.project.pk}/orders/{order.pk}/")
    assert delivery.status == Delivery.Status.SENT


def test_it_posts_event_records_of_chosen_events(api: Api, shop: Shop, receiver: Receiver) -> None:
    channel = webhook_channel(shop, receiver.url, receives_orders=False)
    channel.events.add(shop.event)
    response = api.event(
        {"event": shop.event.key, "data": [{"name": "Phone", "value": "+1 555"}]}, shop.key.key
    )
    assert response.status_code == 201
    run_worker()
    (request,) = receiver.requests
    body = request.json()
    assert body["type"] == "event.recorded"
    assert body["event"]["name"] == "Call-back"
    assert body["event"]["record_id"] == response.json()["id"]
    assert body["event"]["data"] == [{"name": "Phone", "value": "+1 555"}]


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_it_retries_on_temporary_answers(
    api: Api, shop: Shop, receiver: Receiver, status: int
) -> None:
    webhook_channel(shop, receiver.url)
    receiver.status = status
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert f"HTTP {status}" in delivery.last_error
    receiver.status = 200
    run_worker(delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 404])
def test_it_gives_up_at_once_when_the_receiver_refuses(
    api: Api, shop: Shop, receiver: Receiver, status: int
) -> None:
    channel = webhook_channel(shop, receiver.url)
    receiver.status = status
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    channel.refresh_from_db()
    assert channel.is_active


class MovedReceiver(LocalHTTPServer):
    """Answers /<status>/... with that redirect to /new, and /new with 200."""

    def __init__(self) -> None:
        super().__init__(self._handle)

    def _handle(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path == "/new":
            return 200, {}, b"ok"
        return int(request.path.split("/")[1]), {"Location": "/new"}, b""


@pytest.mark.parametrize("status", [301, 302, 303])
def test_it_retries_a_webhook_that_redirects_with_a_get(
    api: Api, shop: Shop, loopback_allowed: None, status: int
) -> None:
    receiver = MovedReceiver()
    try:
        webhook_channel(shop, f"{receiver.url}/{status}/hook")
        place_order(api, shop)
        run_worker()
    finally:
        receiver.close()
    # The order never went anywhere as a body-less GET, and the delivery is not "sent".
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", f"/{status}/hook")]
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error == (
        f"Redirected with {status} to {receiver.url}/new; only 307/308 are followed"
    )


@pytest.mark.parametrize("status", [307, 308])
def test_it_follows_a_redirect_that_keeps_the_post(
    api: Api, shop: Shop, loopback_allowed: None, status: int
) -> None:
    receiver = MovedReceiver()
    try:
        channel = webhook_channel(shop, f"{receiver.url}/{status}/hook")
        place_order(api, shop)
        run_worker()
    finally:
        receiver.close()
    assert Delivery.objects.get().status == Delivery.Status.SENT
    first, moved = receiver.requests
    assert (moved.method, moved.path) == ("POST", "/new")
    assert moved.body == first.body
    assert verify(plain_secret(channel), moved.headers, moved.body)


def test_it_switches_the_channel_off_on_410(api: Api, shop: Shop, receiver: Receiver) -> None:
    channel = webhook_channel(shop, receiver.url)
    receiver.status = 410
    place_order(api, shop)
    run_worker()
    channel.refresh_from_db()
    assert not channel.is_active
    assert "410" in channel.disabled_reason


def test_it_refuses_plain_http_unless_the_operator_allows_it(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(ValidationError, match="https"):
        WebhookConfig(url="http://example.com/hook")
    assert WebhookConfig(url="https://example.com/hook").url == "https://example.com/hook"
    settings.WEBHOOK_ALLOW_HTTP = True
    assert WebhookConfig(url="http://example.com/hook").url == "http://example.com/hook"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "https://", "https://user:pw@example.com/", "https://a b.com/"]
)
def test_it_refuses_bad_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        WebhookConfig(url=url)


def test_it_never_sends_the_secret_itself(api: Api, shop: Shop, receiver: Receiver) -> None:
    channel = webhook_channel(shop, receiver.url)
    place_order(api, shop)
    run_worker()
    (request,) = receiver.requests
    secret = plain_secret(channel)
    assert secret.encode() not in request.body
    assert secret not in json.dumps(request.headers)


def test_it_does_not_notify_channels_of_other_projects(
    api: Api, shop: Shop, other_shop: Shop, receiver: Receiver
) -> None:
    webhook_channel(other_shop, receiver.url)
    place_order(api, shop)
    run_worker()
    assert receiver.requests == []
    assert not Channel.objects.get().deliveries.exists()
