"""Notifications of status changes: the channel option, one delivery per channel written with
the step, webhooks carrying order.updated (signed), Telegram and e-mail in one line."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from orderreport.notify.models import Channel, Delivery
from orderreport.notify.outbox import send_again
from orderreport.orders.models import Order, StatusChange
from orderreport.orders.services import change_status, update_order
from orderreport.projects import services
from tests.conftest import Api, Shop
from tests.notify.conftest import (
    Receiver,
    email_channel,
    plain_secret,
    run_worker,
    telegram_channel,
    webhook_channel,
)
from tests.notify.servers import FakeTelegram, Mailbox, parts_of
from tests.notify.test_webhook import verify


def stored(shop: Shop, external_id: str = "A-1") -> Order:
    return Order.objects.create(
        project=shop.project,
        external_id=external_id,
        total=1000,
        currency="RUB",
        received_at=timezone.now(),
    )


def api_update(api: Api, shop: Shop, body: dict[str, Any]) -> Any:
    raw = services.create_server_key(shop.project, "CRM")[1]
    return api.post("/api/orders/update", body, raw, origin=None)


def test_a_webhook_receives_order_updated_signed(api: Api, shop: Shop, receiver: Receiver) -> None:
    channel = webhook_channel(
        shop, receiver.url + "/hooks", receives_orders=False, receives_status_changes=True
    )
    order = stored(shop)
    response = api_update(api, shop, {"id": "A-1", "status": "paid"})
    assert response.status_code == 200, response.content
    run_worker()

    (request,) = receiver.requests
    assert verify(plain_secret(channel), request.headers, request.body)
    assert not verify("whsec_wrong", request.headers, request.body)
    body = request.json()
    delivery = Delivery.objects.get()
    change = StatusChange.objects.get()
    assert body["type"] == "order.updated"
    assert body["version"] == 1
    assert body["delivery_id"] == str(delivery.pk)
    assert body["order"]["id"] == "A-1"
    assert body["order"]["status"] == "paid"
    assert body["order"]["url"].endswith(f"/orders/{order.pk}/")
    assert body["status_change"]["from"] == "new"
    assert body["status_change"]["to"] == "paid"
    assert body["status_change"]["source"] == "api"
    assert body["status_change"]["changed_at"].endswith("Z")
    assert delivery.status_change_id == change.pk
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT


def test_the_delivery_is_written_with_the_step_or_not_at_all(shop: Shop) -> None:
    webhook_channel(shop, "https://example.com/hook", receives_status_changes=True)
    order = stored(shop)
    with pytest.raises(RuntimeError), transaction.atomic():
        change_status(order, "paid", source="api")
        assert Delivery.objects.filter(topic=Delivery.Topic.STATUS).count() == 1
        raise RuntimeError("the caller's transaction fails")
    assert not StatusChange.objects.exists()
    assert not Delivery.objects.exists()


def test_update_order_rolls_back_fields_with_a_failed_status(shop: Shop) -> None:
    from django.core.exceptions import ValidationError

    order = stored(shop)
    with pytest.raises(ValidationError):
        update_order(shop.project.pk, "A-1", {"total": 5}, "lost")
    order.refresh_from_db()
    assert order.total == 1000


def test_a_dashboard_change_notifies_too(shop: Shop, telegram: FakeTelegram) -> None:
    telegram_channel(shop, receives_orders=False, receives_status_changes=True)
    order = stored(shop)
    client = Client()
    client.force_login(shop.user)
    response = client.post(
        f"/projects/{shop.project.pk}/orders/{order.pk}/status/", {"status": "shipped"}
    )
    assert response.status_code == 302
    delivery = Delivery.objects.get()
    assert delivery.topic == Delivery.Topic.STATUS
    assert delivery.status_change is not None and delivery.status_change.source == "dashboard"
    run_worker()
    (message,) = telegram.messages
    assert "Order A-1: New → Shipped" in message["text"]


def test_channels_without_the_option_or_switched_off_or_elsewhere_get_nothing(
    shop: Shop, other_shop: Shop
) -> None:
    plain = webhook_channel(shop, "https://example.com/a")  # the default: off
    assert not plain.receives_status_changes
    webhook_channel(shop, "https://example.com/b", receives_status_changes=True, is_active=False)
    webhook_channel(other_shop, "https://example.com/c", receives_status_changes=True)
    wanted = webhook_channel(shop, "https://example.com/d", receives_status_changes=True)
    order = stored(shop)
    change_status(order, "paid", source="api")
    (delivery,) = Delivery.objects.all()
    assert delivery.channel_id == wanted.pk
    # Setting the status it already has writes nothing.
    change_status(order, "paid", source="api")
    assert Delivery.objects.count() == 1


def test_telegram_says_it_in_one_escaped_line_in_the_owners_language(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    shop.user.language = "ru"
    shop.user.save()
    telegram_channel(shop, receives_orders=False, receives_status_changes=True)
    stored(shop, "<b>A&1</b>")
    assert api_update(api, shop, {"id": "<b>A&1</b>", "status": "paid"}).status_code == 200
    run_worker()
    (message,) = telegram.messages
    text = message["text"]
    first = text.splitlines()[0]
    assert first == "<b>Заказ &lt;b&gt;A&amp;1&lt;/b&gt;: Новый → Оплачен</b>"
    assert "<b>A&1</b>" not in text


def test_email_says_it_escaped(shop: Shop, smtp: Mailbox) -> None:
    email_channel(
        shop,
        ["boss@example.com"],
        ["boss@example.com"],
        receives_orders=False,
        receives_status_changes=True,
    )
    order = stored(shop, "<script>x</script>")
    change_status(order, "cancelled", source="api")
    run_worker()
    smtp.wait(1)
    (message,) = smtp.messages
    assert "Order <script>x</script>: New → Cancelled" in str(message["Subject"])
    parts = parts_of(message)
    assert "Order <script>x</script>: New → Cancelled" in parts["text/plain"]
    assert "&lt;script&gt;x&lt;/script&gt;" in parts["text/html"]
    assert "<script>" not in parts["text/html"]


def test_the_worker_retries_a_status_delivery(shop: Shop, receiver: Receiver) -> None:
    webhook_channel(shop, receiver.url, receives_orders=False, receives_status_changes=True)
    change_status(stored(shop), "paid", source="api")
    receiver.status = 503
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    receiver.status = 200
    run_worker(delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert [r.json()["type"] for r in receiver.requests] == ["order.updated"] * 2
    again = send_again(delivery, timezone.now())
    assert again.status_change_id == delivery.status_change_id


def test_the_channel_form_has_the_option(shop: Shop) -> None:
    client = Client()
    client.force_login(shop.user)
    url = f"/projects/{shop.project.pk}/notifications/add/webhook/"
    page = client.get(url).content.decode()
    assert "Status changes" in page
    response = client.post(
        url,
        {"name": "CRM", "url": "https://example.com/hook", "receives_status_changes": "on"},
    )
    assert response.status_code == 302, response.content[:2000]
    channel = Channel.objects.get()
    assert channel.receives_status_changes
    assert not channel.receives_orders
