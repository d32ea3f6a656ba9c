"""Channel secrets encrypted at rest: the stored column, rotation, a lost key, the migration."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from orderreport.notify.checks import check_notify_settings
from orderreport.notify.models import Attempt, Channel, Delivery
from tests.conftest import Api, Shop, Team
from tests.notify.conftest import (
    BOT_TOKEN,
    Receiver,
    place_order,
    plain_secret,
    run_worker,
    telegram_channel,
    webhook_channel,
)
from tests.notify.servers import FakeTelegram
from tests.notify.test_webhook import verify

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
TOKEN_PART = BOT_TOKEN.split(":")[1]


@pytest.fixture(autouse=True)
def old_key(settings: Any) -> None:
    settings.SECRETS_KEYS = [OLD_KEY]


@pytest.fixture(autouse=True)
def _plain_static(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def stored(channel: Channel) -> str:
    """The config column exactly as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(config AS TEXT) FROM notify_channel WHERE id = %s", [channel.pk]
        )
        (raw,) = cursor.fetchone()
    return str(raw)


def channel_page(client: Client, channel: Channel) -> str:
    response = client.get(reverse("notify:channel", args=[channel.project_id, channel.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_stores_no_plain_secret_in_the_database(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    project = team.shop.project.pk
    client.post(
        reverse("notify:add", args=[project, "telegram"]),
        {"name": "Sales", "bot_token": BOT_TOKEN, "chat_id": "-100500", "receives_orders": "on"},
    )
    response = client.post(
        reverse("notify:add", args=[project, "webhook"]),
        {"name": "CRM", "url": "https://crm.example.com/hook", "receives_orders": "on"},
        follow=True,
    )
    telegram = Channel.objects.get(kind="telegram")
    webhook = Channel.objects.get(kind="webhook")
    shown = plain_secret(webhook)
    assert shown in response.content.decode()  # the owner still gets it once, in plain
    assert TOKEN_PART not in stored(telegram)
    assert '"fernet:' in stored(telegram) and "-100500" in stored(telegram)
    assert shown not in stored(webhook)
    assert shown.removeprefix("whsec_") not in stored(webhook)
    assert "crm.example.com" in stored(webhook)

    rotated = client.post(reverse("notify:rotate-secret", args=[project, webhook.pk]), follow=True)
    webhook.refresh_from_db()
    new = plain_secret(webhook)
    assert new != shown and new in rotated.content.decode()
    assert new.removeprefix("whsec_") not in stored(webhook)


def test_a_webhook_is_signed_with_the_secret_the_owner_was_shown(
    client: Client, team: Team, api: Api, receiver: Receiver
) -> None:
    client.force_login(team.owner)
    response = client.post(
        reverse("notify:add", args=[team.shop.project.pk, "webhook"]),
        {"name": "CRM", "url": receiver.url + "/hook", "receives_orders": "on"},
        follow=True,
    )
    page = response.content.decode()
    shown = page.split('data-copy="', 1)[1].split('"', 1)[0]
    assert shown.startswith("whsec_")
    assert shown not in stored(Channel.objects.get())  # encrypted, and still what signs
    place_order(api, team.shop)
    run_worker()
    (request,) = receiver.requests
    assert verify(shown, request.headers, request.body)
    assert shown not in json.dumps(request.headers) and shown.encode() not in request.body


def rotate() -> str:
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    return out.getvalue()


def test_it_rotates_to_a_new_key_and_works_without_the_old_one(
    api: Api,
    shop: Shop,
    settings: Any,
    telegram: FakeTelegram,
    receiver: Receiver,
) -> None:
    bot = telegram_channel(shop)
    hook = webhook_channel(shop, receiver.url)
    secret = plain_secret(hook)
    before = stored(bot), stored(hook)

    settings.SECRETS_KEYS = [NEW_KEY, OLD_KEY]
    assert "2 secrets re-encrypted with the first key, 0 already were." in rotate()
    assert (stored(bot), stored(hook)) != before
    assert TOKEN_PART not in stored(bot) and secret not in stored(hook)
    # What the operator checks before dropping the old key:
    assert "0 secrets re-encrypted with the first key, 2 already were." in rotate()

    settings.SECRETS_KEYS = [NEW_KEY]
    place_order(api, shop)
    run_worker()
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert telegram.requests[0].path == f"/bot{BOT_TOKEN}/sendMessage"
    (request,) = receiver.requests
    assert verify(secret, request.headers, request.body)


def test_it_explains_a_secret_no_key_decrypts(
    client: Client,
    team: Team,
    api: Api,
    settings: Any,
    telegram: FakeTelegram,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = telegram_channel(team.shop)
    hook = webhook_channel(team.shop, receiver.url)
    secret = plain_secret(hook)
    settings.SECRETS_KEYS = [NEW_KEY]  # the old key was dropped before rotating
    place_order(api, team.shop)
    run_worker()

    assert telegram.requests == [] and receiver.requests == []
    for delivery in Delivery.objects.all():
        assert delivery.status == Delivery.Status.PENDING  # a restored key lets retries through
        assert "cannot be decrypted with this server's encryption keys" in delivery.last_error
    (bot_attempt,) = Attempt.objects.filter(delivery__channel=bot)
    assert "enter the token again" in bot_attempt.error
    (hook_attempt,) = Attempt.objects.filter(delivery__channel=hook)
    assert "make a new secret" in hook_attempt.error
    assert "Internal error" not in caplog.text
    assert TOKEN_PART not in caplog.text and secret not in caplog.text

    client.force_login(team.viewer)
    page = channel_page(client, bot)
    assert "The bot token cannot be decrypted with this server&#x27;s encryption keys" in page
    assert "enter the token again in the channel&#x27;s settings" in page  # the delivery log
    client.post("/language/", {"language": "ru", "next": "/"})
    russian = channel_page(client, hook)
    assert "Секрет подписи не удаётся расшифровать ключами шифрования этого сервера" in russian

    # The owner's way out: a new secret, made with the key the server has now.
    client.force_login(team.owner)
    client.post("/language/", {"language": "en", "next": "/"})
    client.post(reverse("notify:rotate-secret", args=[team.shop.project.pk, hook.pk]))
    assert "cannot be decrypted" not in channel_page(client, hook).split("Delivery log")[0]


def test_rotation_names_the_channels_it_cannot_decrypt(shop: Shop, settings: Any) -> None:
    bot = telegram_channel(shop)
    settings.SECRETS_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match=f"1 secrets could not be decrypted.*channels {bot.pk}"):
        call_command("rotate_secrets")
    assert TOKEN_PART not in stored(bot)


def raw_insert(shop: Shop, kind: str, config: dict[str, Any]) -> int:
    """A channel row as the code before encryption wrote it: the secret in plain text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notify_channel (project_id, kind, name, is_active, receives_orders, "
            "receives_limits, receives_status_changes, sends_digest, digest_hour, config, "
            "disabled_reason, failures_in_a_row, created) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', 0, CURRENT_TIMESTAMP)",
            [shop.project.pk, kind, kind, True, True, False, False, False, 9, json.dumps(config)],
        )
    return Channel.objects.get(kind=kind).pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_encrypts_plain_secrets_and_its_reverse_decrypts(shop: Shop) -> None:
    before = [("notify", "0004_daily_digest")]
    after = [("notify", "0005_encrypt_channel_secrets")]
    MigrationExecutor(connection).migrate(before)
    try:
        old_secret = "whsec_from-before-encryption-0123456789"
        bot = raw_insert(shop, "telegram", {"bot_token": BOT_TOKEN, "chat_id": "-1001"})
        hook = raw_insert(shop, "webhook", {"url": "https://x.example/h", "secret": old_secret})
        mail = {"addresses": ["a@example.com"], "confirmed": []}
        mail_pk = raw_insert(shop, "email", mail)

        MigrationExecutor(connection).migrate(after)
        bot_channel, hook_channel = Channel.objects.get(pk=bot), Channel.objects.get(pk=hook)
        assert TOKEN_PART not in stored(bot_channel) and old_secret not in stored(hook_channel)
        assert plain_secret(hook_channel) == old_secret
        assert bot_channel.config["chat_id"] == "-1001"
        assert Channel.objects.get(pk=mail_pk).config == mail

        MigrationExecutor(connection).migrate(before)
        assert BOT_TOKEN in stored(bot_channel) and old_secret in stored(hook_channel)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_check_asks_for_keys_in_production(settings: Any) -> None:
    settings.SECRETS_KEYS = []
    (error,) = [p for p in check_notify_settings() if p.id == "notify.E003"]
    assert "SECRETS_KEYS is not set" in error.msg
    assert "Fernet.generate_key()" in (error.hint or "")
    settings.SECRETS_KEYS = [NEW_KEY, "not-a-key"]
    (error,) = [p for p in check_notify_settings() if p.id == "notify.E004"]
    assert error.msg == "SECRETS_KEYS: key number 2 is not a Fernet key."
    assert "not-a-key" not in error.msg + (error.hint or "")
    settings.SECRETS_KEYS = [NEW_KEY, OLD_KEY]
    assert not [p for p in check_notify_settings() if p.id in ("notify.E003", "notify.E004")]


def _check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SECRETS_KEYS") and k not in ("TEST_DATABASE_NAME", "DEBUG")
    }
    clean.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY="secrets-tests-only-" + "x" * 40,
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "orderreport", "check"],
        env=clean,
        cwd=django_settings.ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_a_key_does_not_start_and_a_laptop_gets_one(tmp_path: Path) -> None:
    production = _check(
        tmp_path, BASE_URL="https://orders.example.com", SECURE_PROXY_SSL_HEADER="true"
    )
    assert production.returncode != 0
    assert "notify.E003" in production.stderr and "SECRETS_KEYS" in production.stderr
    assert not (tmp_path / "var" / "secrets_key").exists()

    key_file = tmp_path / "key"
    key_file.write_text(NEW_KEY + "\n")
    with_file = _check(
        tmp_path,
        BASE_URL="https://orders.example.com",
        SECURE_PROXY_SSL_HEADER="true",
        SECRETS_KEYS_FILE=str(key_file),
    )
    assert "notify.E003" not in with_file.stderr

    laptop = _check(tmp_path, BASE_URL="http://127.0.0.1:8000")
    assert "SECRETS_KEYS" not in laptop.stderr
    generated = tmp_path / "var" / "secrets_key"
    Fernet(generated.read_text().strip())  # a real key, kept for the next start
    assert generated.stat().st_mode & 0o777 == 0o600
