"""E-mail channels against a local SMTP server (aiosmtpd)."""

from __future__ import annotations

from orderreport.notify.models import Delivery
from tests.conftest import Api, Shop
from tests.notify.conftest import email_channel, place_order, run_worker
from tests.notify.servers import Mailbox, parts_of


def test_it_mails_an_order_in_html_and_plain_text(api: Api, shop: Shop, smtp: Mailbox) -> None:
    email_channel(shop, ["Boss@Example.com", "sales@example.com"], ["boss@example.com"])
    place_order(api, shop, username="<img src=x onerror=alert(1)>")
    run_worker()

    (message,) = smtp.messages
    assert smtp.envelopes[0].rcpt_tos == ["boss@example.com"]  # only the confirmed address
    assert "New order order-100234" in message["Subject"]
    parts = parts_of(message)
    text, html = parts["text/plain"], parts["text/html"]
    assert "<img src=x onerror=alert(1)>" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    for body in (text, html):
        assert "RUB\xa0990.00" in body
        assert "Sneakers X" in body
        assert "John Doe" in body
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_it_fails_without_a_confirmed_address(api: Api, shop: Shop, smtp: Mailbox) -> None:
    email_channel(shop, ["boss@example.com"], [])
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "confirm" in delivery.last_error
    assert smtp.messages == []


def test_it_gives_up_when_the_server_refuses_the_recipient(
    api: Api, shop: Shop, smtp: Mailbox
) -> None:
    smtp.refuse.add("gone@example.com")
    email_channel(shop, ["gone@example.com"], ["gone@example.com"])
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "gone@example.com" in delivery.last_error


def test_it_retries_while_the_smtp_server_is_down(api: Api, shop: Shop, settings: object) -> None:
    from tests.notify.servers import free_port, start_smtp

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port  # type: ignore[attr-defined]
    email_channel(shop, ["boss@example.com"], ["boss@example.com"])
    place_order(api, shop)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "SMTP server unreachable" in delivery.last_error

    from aiosmtpd.controller import Controller

    from tests.notify.servers import Mailbox as Box

    mailbox = Box()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        run_worker(delivery.next_attempt_at)
    finally:
        controller.stop()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert len(mailbox.messages) == 1
    del start_smtp


def test_it_keeps_line_breaks_of_an_order_id_out_of_the_subject(
    api: Api, shop: Shop, smtp: Mailbox
) -> None:
    email_channel(shop, ["boss@example.com"], ["boss@example.com"])
    place_order(api, shop, id="A-1\r\nBcc: victim@example.com")
    run_worker()
    (message,) = smtp.messages
    assert message["Bcc"] is None
    assert smtp.envelopes[0].rcpt_tos == ["boss@example.com"]
    assert "A-1\\r\\nBcc: victim@example.com" in message["Subject"]
    assert Delivery.objects.get().status == Delivery.Status.SENT


FAKE = "\r\nFake: line\u202eevil"


def test_it_shows_line_breaks_and_bidi_overrides_escaped(
    api: Api, shop: Shop, smtp: Mailbox
) -> None:
    email_channel(shop, ["boss@example.com"], ["boss@example.com"])
    place_order(
        api,
        shop,
        id="A-1" + FAKE,
        username="Ann" + FAKE,
        products=[
            {"name": "Hat" + FAKE, "price": 100, "count": 1, "image": "https://example.com/h.jpg"}
        ],
        data=[{"name": "Note" + FAKE, "value": "ok" + FAKE}],
    )
    run_worker()

    (message,) = smtp.messages
    parts = parts_of(message)
    text, html = parts["text/plain"], parts["text/html"]
    assert not [line for line in text.splitlines() if line.startswith("Fake:")]
    for body in (text, html, message["Subject"]):
        assert "\u202e" not in body
    for shown in ("A-1", "Ann", "Hat", "Note", "ok"):
        assert f"{shown}\\r\\nFake: line\\u202eevil" in text
        assert f"{shown}\\r\\nFake: line\\u202eevil" in html
    order = shop.project.orders.get()  # stored as sent
    assert (order.external_id, order.username) == ("A-1" + FAKE, "Ann" + FAKE)
    assert order.data[0]["value"] == "ok" + FAKE


def test_it_writes_times_without_a_doubled_dot_in_russian(
    api: Api, shop: Shop, smtp: Mailbox
) -> None:
    shop.user.language = "ru"
    shop.user.save()
    shop.project.timezone = "Europe/Moscow"
    shop.project.save()
    email_channel(shop, ["boss@example.com"], ["boss@example.com"])
    place_order(api, shop)
    run_worker()

    (message,) = smtp.messages
    parts = parts_of(message)
    for body in (parts["text/plain"], parts["text/html"]):
        assert "Получено" in body
        assert "(Europe/Moscow)" in body
        assert ".." not in body
        assert "г." not in body  # noqa: RUF001 (the abbreviation of "year")
