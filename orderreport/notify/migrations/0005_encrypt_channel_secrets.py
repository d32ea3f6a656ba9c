"""Encrypt the bot tokens and webhook signing secrets already stored in plain text.

Self-contained (no import of notify/crypto.py), so it keeps working as that module changes;
the stored form is the same: "fernet:<token>" made with the first of SECRETS_KEYS.
"""

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import migrations

PREFIX = "fernet:"
SECRET_FIELDS = {"telegram": "bot_token", "webhook": "secret"}


def _box() -> MultiFernet:
    keys = list(settings.SECRETS_KEYS)
    if not keys:
        raise ImproperlyConfigured(
            "SECRETS_KEYS is not set: channel secrets cannot be encrypted. Set it before "
            "migrating (docs/operations.md, 'The encryption key')."
        )
    return MultiFernet([Fernet(key) for key in keys])


def _channels(apps: Any) -> Any:
    Channel = apps.get_model("notify", "Channel")
    return Channel.objects.filter(kind__in=SECRET_FIELDS).order_by("pk")


def encrypt(apps: Any, schema_editor: Any) -> None:
    box = None
    for channel in _channels(apps).iterator():
        name = SECRET_FIELDS[channel.kind]
        value = channel.config.get(name)
        if not isinstance(value, str) or value.startswith(PREFIX):
            continue
        box = box or _box()  # no key is needed when there is nothing to encrypt
        sealed = PREFIX + box.encrypt(value.encode()).decode()
        channel.config = {**channel.config, name: sealed}
        channel.save(update_fields=["config"])


def decrypt(apps: Any, schema_editor: Any) -> None:
    box = None
    for channel in _channels(apps).iterator():
        name = SECRET_FIELDS[channel.kind]
        value = channel.config.get(name)
        if not isinstance(value, str) or not value.startswith(PREFIX):
            continue
        box = box or _box()
        try:
            plain = box.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise ImproperlyConfigured(
                f"Channel {channel.pk}: none of SECRETS_KEYS decrypts its {name}; set the key "
                "it was encrypted with, or enter the secret again."
            ) from None
        channel.config = {**channel.config, name: plain}
        channel.save(update_fields=["config"])


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0004_daily_digest"),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt, elidable=False),
    ]
