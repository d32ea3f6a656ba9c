"""The notifications pages in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from orderreport.notify.models import Channel, Delivery
from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import Team
from tests.notify.conftest import plain_secret

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs /usr/bin/chromium"),
]


@pytest.fixture
def browser_page(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls made by the
    # test itself are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.DEBUG = True  # the live server serves static files from the finders
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        yield page
        browser.close()


def _log_in(page: Any, live_server: Any, user: Any) -> None:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key,
          "url": live_server.url}]
    )  # fmt: skip


def test_it_adds_a_webhook_shows_its_secret_once_and_queues_a_test(
    browser_page: Any, live_server: Any, team: Team
) -> None:
    page = browser_page
    _log_in(page, live_server, team.owner)
    project = team.shop.project.pk
    page.goto(f"{live_server.url}/projects/{project}/notifications/")
    assert "No channels yet" in page.content()
    page.click("text=Add Webhook")
    page.fill("input[name=name]", "CRM")
    page.fill("input[name=url]", "http://crm.example.com/hook")
    page.click("button:has-text('Save')")
    assert "must start with https://" in page.content()
    page.fill("input[name=url]", "https://crm.example.com/hook")
    page.click("button:has-text('Save')")
    secret = plain_secret(Channel.objects.get())
    assert secret in page.content()
    page.click("button:has-text('Send test')")
    assert "Test message queued" in page.content()
    assert secret not in page.content()
    assert Delivery.objects.get().topic == "test"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_it_shows_a_token_no_key_decrypts_on_phone_and_desktop(
    browser_page: Any, live_server: Any, team: Team, settings: Any, language: str
) -> None:
    from cryptography.fernet import Fernet
    from django.urls import reverse
    from django.utils import timezone

    from orderreport.notify.outbox import enqueue_test
    from tests.notify.conftest import run_worker, telegram_channel

    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    channel = telegram_channel(team.shop)
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    enqueue_test(channel, timezone.now())
    run_worker()
    team.owner.language = language
    team.owner.save()
    page = browser_page
    _log_in(page, live_server, team.owner)
    problem = {
        "en": "The bot token cannot be decrypted with this server's encryption keys",
        "ru": "Токен бота не удаётся расшифровать ключами шифрования этого сервера",
    }[language]
    logged = {
        "en": "enter the token again in the channel's settings",
        "ru": "введите токен заново в настройках канала",
    }[language]
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(
            live_server.url + reverse("notify:channel", args=[team.shop.project.pk, channel.pk])
        )
        assert page.locator("p.errorlist", has_text=problem).is_visible()
        assert page.locator("td", has_text=logged).is_visible()  # the delivery log
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(
    ("width", "language", "button", "queued"),
    [
        (1280, "en", "Send the link again", "A confirmation link is on its way to: b@example.com"),
        (
            375,
            "ru",
            "Отправить ссылку ещё раз",
            "Отправляем ссылку для подтверждения на: b@example.com",
        ),
    ],
)
def test_an_owner_sends_a_waiting_address_its_link_again(
    browser_page: Any, live_server: Any, team: Team, width: int, language: str, button: str,
    queued: str,
) -> None:  # fmt: skip
    from playwright.sync_api import expect

    from orderreport.accounts.models import QueuedMail

    team.owner.language = language
    team.owner.save()
    channel = Channel.objects.create(
        project=team.shop.project,
        kind="email",
        name="Team",
        config={"addresses": ["a@example.com", "b@example.com"], "confirmed": ["a@example.com"]},
    )
    page = browser_page
    page.set_viewport_size({"width": width, "height": 800})
    _log_in(page, live_server, team.owner)
    page.goto(f"{live_server.url}/projects/{team.shop.project.pk}/notifications/{channel.pk}/")
    again = page.get_by_role("button", name=button)
    expect(again).to_have_count(1)  # a@ is confirmed: only b@ waits
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"/tmp/confirm-again-{width}-{language}.png", full_page=True)
    again.click()
    expect(page.get_by_text(queued)).to_be_visible()
    assert list(QueuedMail.objects.values_list("to", flat=True)) == ["b@example.com"]
