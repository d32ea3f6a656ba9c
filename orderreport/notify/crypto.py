"""Channel secrets (bot tokens, webhook signing secrets) encrypted at rest with SECRETS_KEYS.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a MultiFernet: the first key
encrypts, every key decrypts, so an operator adds a new key in front, runs `orderreport
rotate-secrets`, then drops the old one (docs/operations.md). A stored value is
"fernet:<token>", so a reader of the database can tell it is encrypted and by what.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:"


class SecretUnreadable(Exception):
    """A stored secret that none of SECRETS_KEYS decrypts (the key it was made with is gone)."""


def check_keys(keys: list[str]) -> str | None:
    """What is wrong with these keys, or None; the message never shows a key."""
    if not keys:
        return "SECRETS_KEYS is not set: channel secrets cannot be encrypted."
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return f"SECRETS_KEYS: key number {number} is not a Fernet key."
    return None


@lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    problem = check_keys(list(keys))
    if problem:
        raise ImproperlyConfigured(problem)
    fernets = [Fernet(key) for key in keys]
    return fernets[0], MultiFernet(fernets)


def _current() -> tuple[Fernet, MultiFernet]:
    # Read on every call, not at import, so a changed setting (tests) takes effect at once.
    return _fernets(tuple(settings.SECRETS_KEYS))


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(plain: str) -> str:
    """The secret encrypted with the first key, as stored in Channel.config."""
    first, _all = _current()
    return PREFIX + first.encrypt(plain.encode()).decode()


def unseal(value: str) -> str:
    """The plain secret; SecretUnreadable when no key decrypts it. Call it only where the
    secret is used: a transport sending, a page showing a new secret once."""
    if not is_sealed(value):
        raise SecretUnreadable("the stored value is not encrypted")
    _first, box = _current()
    try:
        return box.decrypt(value.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("none of SECRETS_KEYS decrypts the stored value") from None


def readable(value: str) -> bool:
    try:
        unseal(value)
    except SecretUnreadable:
        return False
    return True


def reseal(value: str) -> str | None:
    """The value encrypted with the first key, or None when it already is. Plain values (from
    before encryption) are encrypted; SecretUnreadable when no key decrypts it."""
    if not is_sealed(value):
        return seal(value)
    first, box = _current()
    token = value.removeprefix(PREFIX).encode()
    try:
        first.decrypt(token)
        return None
    except InvalidToken:
        pass
    try:
        return PREFIX + box.rotate(token).decode()
    except InvalidToken:
        raise SecretUnreadable("none of SECRETS_KEYS decrypts the stored value") from None
