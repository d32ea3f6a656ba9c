"""Telegram channels against a local server speaking the Bot API's sendMessage."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import pytest

from orderreport.notify.models import Attempt, Channel, Delivery
from tests.conftest import Api, Shop
from tests.notify.conftest import BOT_TOKEN, place_order, run_worker, telegram_channel
from tests.notify.servers import FakeTelegram


def test_it_sends_a_new_order_as_escaped_html(api: Api, shop: Shop, telegram: FakeTelegram) -> None:
    telegram_channel(shop)
    place_order(
        api,
        shop,
        username="<b>Evil</b> & Co",
        data=[{"name": "Comment", "value": "<script>alert(1)</script>"}],
    )
    run_worker()

    assert len(telegram.requests) == 1
    assert telegram.requests[0].path == f"/bot{BOT_TOKEN}/sendMessage"
    sent = telegram.messages[0]
    assert sent["chat_id"] == "-100123"
    assert sent["parse_mode"] == "HTML"
    text = sent["text"]
    assert "New order order-100234" in text
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>" not in text
    assert "Sneakers X × 1 — RUB\xa0990.00" in text  # noqa: RUF001
    assert "john@example.com" in text and "+998901112233" in text
    order = shop.project.orders.get()
    assert f"/projects/{shop.project.pk}/orders/{order.pk}/" in text
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempt_log.get().outcome == Attempt.Outcome.SENT


def test_it_shows_line_breaks_and_bidi_overrides_escaped(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    fake = "\r\nFake: line\u202eevil"
    telegram_channel(shop)
    place_order(
        api,
        shop,
        id="A-1" + fake,
        username="Ann" + fake,
        products=[
            {"name": "Hat" + fake, "price": 100, "count": 1, "image": "https://example.com/h.jpg"}
        ],
        data=[{"name": "Note" + fake, "value": "ok" + fake}],
    )
    run_worker()

    text = telegram.messages[0]["text"]
    assert not [line for line in text.splitlines() if line.startswith("Fake:")]
    assert "\u202e" not in text
    for shown in ("A-1", "Ann", "Hat", "Note", "ok"):
        assert f"{shown}\\r\\nFake: line\\u202eevil" in text
    assert shop.project.orders.get().username == "Ann" + fake  # stored as sent


def test_it_writes_in_the_owners_language(api: Api, shop: Shop, telegram: FakeTelegram) -> None:
    shop.user.language = "ru"
    shop.user.save()
    telegram_channel(shop)
    place_order(api, shop)
    run_worker()
    text = telegram.messages[0]["text"]
    assert "Новый заказ order-100234" in text
    assert "990,00\xa0₽" in text


def test_it_switches_the_channel_off_when_the_bot_is_blocked(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    channel = telegram_channel(shop)
    telegram.answers["-100123"] = [
        (
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    ]
    place_order(api, shop)
    run_worker()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    channel.refresh_from_db()
    assert not channel.is_active
    assert "bot was blocked" in channel.disabled_reason
    # Later orders are not queued for a switched-off channel.
    place_order(api, shop, id="order-2")
    assert Delivery.objects.count() == 1


def test_it_switches_the_channel_off_when_the_chat_is_gone(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    channel = telegram_channel(shop)
    telegram.answers["-100123"] = [
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    ]
    place_order(api, shop)
    run_worker()
    channel.refresh_from_db()
    assert not channel.is_active
    assert "chat not found" in channel.disabled_reason
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_it_waits_as_long_as_telegram_asks_on_429(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    telegram_channel(shop)
    telegram.answers["-100123"] = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 600",
                "parameters": {"retry_after": 600},
            },
        ),
        (200, {"ok": True, "result": {}}),
    ]
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert (delivery.next_attempt_at - delivery.attempt_log.get().at).total_seconds() >= 600

    run_worker(delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert len(telegram.requests) == 2


def test_it_follows_a_migrated_chat(api: Api, shop: Shop, telegram: FakeTelegram) -> None:
    channel = telegram_channel(shop, chat_id="-4001")
    telegram.answers["-4001"] = [
        (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -1009999},
            },
        )
    ]
    place_order(api, shop)
    run_worker()
    assert [m["chat_id"] for m in telegram.messages] == ["-4001", "-1009999"]
    assert Delivery.objects.get().status == Delivery.Status.SENT
    channel.refresh_from_db()
    assert channel.config["chat_id"] == "-1009999"
    assert channel.is_active


def test_it_retries_when_telegram_is_down(api: Api, shop: Shop, telegram: FakeTelegram) -> None:
    channel = telegram_channel(shop)
    telegram.answers["-100123"] = [
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
        (200, {"ok": True, "result": {}}),
    ]
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "502" in delivery.last_error
    channel.refresh_from_db()
    assert channel.is_active and channel.failures_in_a_row == 1
    run_worker(delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    channel.refresh_from_db()
    assert channel.failures_in_a_row == 0


def test_it_never_puts_the_bot_token_in_errors_or_logs(
    api: Api, shop: Shop, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.notify.servers import free_port

    caplog.set_level(logging.DEBUG)
    settings.TELEGRAM_API_BASE = f"http://127.0.0.1:{free_port()}"  # type: ignore[attr-defined]
    channel = telegram_channel(shop)
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error
    assert BOT_TOKEN not in delivery.last_error
    assert BOT_TOKEN.split(":")[1] not in delivery.attempt_log.get().error
    assert Channel.objects.get(pk=channel.pk).failures_in_a_row == 1
    assert "delivery" in caplog.text  # the worker did log the failure...
    assert BOT_TOKEN.split(":")[1] not in caplog.text  # ...without the token


def test_it_does_not_log_the_token_of_a_successful_send(
    api: Api, shop: Shop, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    telegram_channel(shop)
    place_order(api, shop)
    run_worker()
    assert len(telegram.requests) == 1
    assert BOT_TOKEN.split(":")[1] not in caplog.text


def test_it_sends_an_event_record_with_its_data(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    channel = telegram_channel(shop, receives_orders=False)
    channel.events.add(shop.event)
    response = api.event(
        {"event": shop.event.key, "data": [{"name": "Имя", "value": "Ruslan <Garapov>"}]},
        shop.key.key,
    )
    assert response.status_code == 201
    run_worker()
    text = telegram.messages[0]["text"]
    assert "New record: Call-back" in text
    assert "Имя: Ruslan &lt;Garapov&gt;" in text


def test_it_keeps_a_huge_order_within_telegrams_limit(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    telegram_channel(shop)
    data = [{"name": f"field {n}", "value": "<" * 1000} for n in range(40)]
    place_order(api, shop, data=data)
    run_worker()
    text = telegram.messages[0]["text"]
    assert len(text) <= 4096
    assert "…" in text
    assert text.endswith("</a>")  # the link to the order survives the cut
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_it_stops_sending_to_a_blocked_bot_within_the_same_batch(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    telegram_channel(shop)
    telegram.answers["-100123"] = [
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked"})
    ]
    for n in range(3):
        place_order(api, shop, id=f"order-{n}")
    run_worker()
    assert len(telegram.requests) == 1
    assert list(Delivery.objects.values_list("status", flat=True)) == ["failed"] * 3
    assert set(Delivery.objects.values_list("last_error", flat=True)) == {
        "Telegram: 403 Forbidden: bot was kicked",
        "The channel is switched off",
    }


def test_it_writes_the_time_in_the_projects_zone_and_the_owners_language(
    api: Api, shop: Shop, telegram: FakeTelegram
) -> None:
    shop.user.language = "ru"
    shop.user.save()
    shop.project.timezone = "Asia/Tokyo"  # UTC+9
    shop.project.save()
    telegram_channel(shop)
    place_order(api, shop)
    run_worker()
    text = telegram.messages[0]["text"]
    local = shop.project.orders.get().received_at.astimezone(ZoneInfo("Asia/Tokyo"))
    # "2 дек. 2026, 16:10 (Asia/Tokyo)": the day, the 24-hour clock there, the zone named.
    assert f"{local.day} " in text
    assert f"{local:%H:%M} (Asia/Tokyo)" in text
    assert ".." not in text
