"""The integration page's test order is notified like any order, visibly marked as a test on
every channel: Telegram, e-mail and webhooks (`"test": true`)."""

from __future__ import annotations

from orderreport.examples import GUIDE_ORDER
from orderreport.orders.models import Status
from orderreport.orders.services import change_status
from orderreport.projects import testmark
from tests.conftest import Api, Shop
from tests.notify.conftest import (
    Receiver,
    email_channel,
    run_worker,
    telegram_channel,
    webhook_channel,
)
from tests.notify.servers import FakeTelegram, Mailbox, parts_of

NOTE = "A test order from the integration page: not counted against the plan or in reports."


def send_test_order(api: Api, shop: Shop, order_id: str = "test-1") -> None:
    mark = testmark.mark(shop.project.pk, order_id)
    response = api.order(
        {**GUIDE_ORDER, "id": order_id}, shop.key.key, HTTP_X_ORDERREPORT_TEST=mark
    )
    assert response.status_code == 201, response.content


def test_telegram_shows_the_test_mark(api: Api, shop: Shop, telegram: FakeTelegram) -> None:
    telegram_channel(shop)
    send_test_order(api, shop)
    assert api.order(GUIDE_ORDER, shop.key.key).status_code == 201
    run_worker()
    test, real = sorted((m["text"] for m in telegram.messages), key=lambda t: "test-1" not in t)
    assert "<b>[TEST] New order test-1</b>" in test
    assert NOTE in test
    assert "Sneakers X" in test  # the order itself, as for any order
    assert "<b>New order order-100234</b>" in real
    assert "[TEST]" not in real and NOTE not in real


def test_a_status_change_of_a_test_order_keeps_the_mark(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    telegram_channel(shop, receives_status_changes=True)
    send_test_order(api, shop)
    change_status(shop.project.orders.get(), Status.PAID)
    run_worker()
    texts = [m["text"] for m in telegram.messages]
    assert any("[TEST] Order test-1: New → Paid" in t for t in texts), texts


def test_e_mail_shows_the_test_mark_in_the_owners_language(
    api: Api, shop: Shop, smtp: Mailbox
) -> None:
    shop.user.language = "ru"
    shop.user.save()
    email_channel(shop, ["boss@example.com"], ["boss@example.com"])
    send_test_order(api, shop)
    run_worker()
    (message,) = smtp.messages
    assert "[ТЕСТ] Новый заказ test-1" in message["Subject"]  # noqa: RUF001
    parts = parts_of(message)
    for body in (parts["text/plain"], parts["text/html"]):
        assert "Тестовый заказ со страницы интеграции" in body  # noqa: RUF001


def test_a_webhook_gets_test_true(api: Api, shop: Shop, receiver: Receiver) -> None:
    webhook_channel(shop, receiver.url)
    send_test_order(api, shop)
    assert api.order(GUIDE_ORDER, shop.key.key).status_code == 201
    run_worker()
    got = {r.json()["order"]["id"]: r.json()["order"]["test"] for r in receiver.requests}
    assert got == {"test-1": True, "order-100234": False}
