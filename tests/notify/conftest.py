"""Fixtures for the notification tests: local servers, channels, and a way to run the worker."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from orderreport.examples import GUIDE_ORDER
from orderreport.notify import crypto
from orderreport.notify.config import (
    EmailConfig,
    TelegramConfig,
    WebhookConfig,
    dump_config,
)
from orderreport.notify.models import Channel, Delivery
from orderreport.notify.worker import Worker
from tests.conftest import Api, Shop
from tests.notify.servers import FakeTelegram, LocalHTTPServer, Mailbox, Request, start_smtp

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

# Processes a test started (`orderreport worker`); none outlives its test, failed or not.
_children: list[subprocess.Popen[bytes]] = []


def spawned(process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """Kill `process` when the current test ends, if it is still running then."""
    _children.append(process)
    return process


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    yield
    while _children:
        child = _children.pop()
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()


@pytest.fixture
def telegram(settings: Any) -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    settings.TELEGRAM_API_BASE = server.url
    yield server
    server.close()


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    controller, mailbox = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    yield mailbox
    controller.stop()


class Receiver(LocalHTTPServer):
    """A webhook receiver answering `status` (200 unless a test changes it)."""

    def __init__(self, port: int = 0) -> None:
        self.status = 200
        super().__init__(self._handle, port=port)

    def _handle(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        return self.status, {"Content-Type": "text/plain"}, b"ok"


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    """Webhook receivers in tests live on 127.0.0.1 over plain http, as the operator allows."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.WEBHOOK_ALLOW_HTTP = True


@pytest.fixture
def receiver(loopback_allowed: None) -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def telegram_channel(shop: Shop, chat_id: str = "-100123", **fields: Any) -> Channel:
    config = TelegramConfig(bot_token=BOT_TOKEN, chat_id=chat_id)
    return Channel.objects.create(
        project=shop.project,
        kind="telegram",
        name="Sales chat",
        config=dump_config(config),
        **fields,
    )


def email_channel(shop: Shop, addresses: list[str], confirmed: list[str], **fields: Any) -> Channel:
    config = EmailConfig(addresses=addresses, confirmed=confirmed)
    return Channel.objects.create(
        project=shop.project, kind="email", name="Managers", config=dump_config(config), **fields
    )


def webhook_channel(shop: Shop, url: str, **fields: Any) -> Channel:
    config = WebhookConfig(url=url)
    return Channel.objects.create(
        project=shop.project, kind="webhook", name="CRM", config=dump_config(config), **fields
    )


def plain_secret(channel: Channel) -> str:
    """A webhook's signing secret as its receiver has it (stored encrypted)."""
    return crypto.unseal(channel.config["secret"])


def place_order(api: Api, shop: Shop, **changes: Any) -> None:
    body = {**GUIDE_ORDER, **changes}
    response = api.order(body, shop.key.key)
    assert response.status_code == 201, response.content


def run_worker(now: dt.datetime | None = None) -> Worker:
    """Deliver everything due at `now` (default: the real time) in this process."""
    worker = Worker(batch_size=50)
    while worker.run_once(now):
        pass
    return worker


def only_delivery(**filters: Any) -> Delivery:
    return Delivery.objects.get(**filters)


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)
