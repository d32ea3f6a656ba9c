"""Typed settings of each channel kind, stored in Channel.config and checked on every read.

Secrets (a bot token, a webhook's signing secret) are kept encrypted (notify/crypto.py) in the
config objects too: a plain value given to a config is checked, then encrypted at once, and
only `crypto.unseal` where the secret is used turns it back.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from orderreport.notify import crypto

_BOT_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramConfig(_Config):
    bot_token: str  # encrypted
    chat_id: str

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: str) -> str:
        if crypto.is_sealed(value):
            return value
        value = value.strip()
        if not _BOT_TOKEN.match(value):
            # The message never echoes the value: it is a secret.
            raise ValueError("does not look like a bot token (digits, a colon, then letters)")
        return crypto.seal(value)

    @field_validator("chat_id")
    @classmethod
    def _chat(cls, value: str) -> str:
        value = value.strip()
        if not _CHAT_ID.match(value):
            raise ValueError("must be a numeric chat id such as -1001234567890, or @channelname")
        return value


class EmailConfig(_Config):
    addresses: list[EmailStr] = Field(min_length=1, max_length=10)
    # Addresses that followed the confirmation link; mail goes only to these.
    confirmed: list[EmailStr] = Field(default_factory=list)

    @field_validator("addresses", "confirmed")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(a.lower() for a in value))

    @property
    def recipients(self) -> list[str]:
        return [a for a in self.addresses if a in self.confirmed]


def generate_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _new_secret() -> str:
    return crypto.seal(generate_webhook_secret())


class WebhookConfig(_Config):
    url: str = Field(max_length=2048)
    # Encrypted; a default is not validated by pydantic, so it is made encrypted.
    secret: str = Field(default_factory=_new_secret, min_length=16)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        return value if crypto.is_sealed(value) else crypto.seal(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError("is not a valid URL") from None
        allowed = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
        if parts.scheme not in allowed:
            raise ValueError("must start with https://")
        if not parts.hostname or any(c.isspace() for c in value):
            raise ValueError("is not a valid URL")
        if parts.username or parts.password:
            raise ValueError("must not contain a user name or password")
        return value


ChannelConfig = TelegramConfig | EmailConfig | WebhookConfig
# The encrypted field of each kind that has one (rotate-secrets, the channel page's check).
SECRET_FIELDS: dict[str, str] = {"telegram": "bot_token", "webhook": "secret"}
_MODELS: dict[str, type[_Config]] = {
    "telegram": TelegramConfig,
    "email": EmailConfig,
    "webhook": WebhookConfig,
}


def parse_config(kind: str, raw: object) -> ChannelConfig:
    """The typed config of a channel kind; raises pydantic.ValidationError on bad data."""
    return _MODELS[kind].model_validate(raw)  # type: ignore[return-value]


def dump_config(config: ChannelConfig) -> dict[str, object]:
    return config.model_dump(mode="json")
