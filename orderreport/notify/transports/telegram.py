"""Telegram: sendMessage in HTML parse mode through the Bot API (TELEGRAM_API_BASE)."""

from __future__ import annotations

from html import escape
from typing import Any

import orjson
from django.conf import settings
from django.utils.translation import gettext_noop

from orderreport.notify import crypto, http
from orderreport.notify.config import TelegramConfig, dump_config
from orderreport.notify.messages import Message, build_message
from orderreport.notify.models import Channel, Delivery
from orderreport.notify.transports import TransportError

# Telegram refuses longer texts; whole lines are dropped past this, so no tag is ever cut.
MAX_TEXT = 4000
# Kept in the delivery log in English and shown translated. Retried, not failed: an operator
# who restores the key (or an owner who enters the token again) lets the retries through.
TOKEN_UNREADABLE = gettext_noop(
    "The bot token cannot be decrypted with this server's encryption keys (SECRETS_KEYS): "
    "enter the token again in the channel's settings."
)


def render(message: Message) -> str:
    """The message as Telegram HTML; every string from a customer or owner is escaped."""
    lines = [f"<b>{escape(message.title)}</b>", f"<i>{escape(message.project)}</i>", ""]
    lines += [f"{escape(label)}: <b>{escape(value)}</b>" for label, value in message.fields]
    if message.products:
        lines.append("")
        lines += [
            f"• {escape(p.name)} × {p.count} — {escape(p.price)}"  # noqa: RUF001
            for p in message.products
        ]
    if message.data:
        lines.append("")
        lines += [f"{escape(name)}: {escape(value)}" for name, value in message.data]
    tail = []
    if message.note:
        tail += ["", escape(message.note)]
    if message.link:
        tail += ["", f'<a href="{escape(message.link)}">{escape(message.link_label)}</a>']
    budget = MAX_TEXT - sum(len(t) + 1 for t in tail)
    kept: list[str] = []
    for line in lines:
        if sum(len(k) + 1 for k in kept) + len(line) + 1 > budget - 2:
            kept.append("…")
            break
        kept.append(line)
    return "\n".join(kept + tail)


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "<token>")


def send(delivery: Delivery) -> None:
    channel = delivery.channel
    assert channel is not None
    config = channel.settings
    assert isinstance(config, TelegramConfig)
    try:
        token = crypto.unseal(config.bot_token)
    except crypto.SecretUnreadable:
        raise TransportError(TOKEN_UNREADABLE) from None
    text = render(build_message(delivery))
    chat_id = config.chat_id
    # A group that became a supergroup answers with its new id once; follow it and keep it.
    answer = _send_message(token, chat_id, text)
    migrate_to = (answer or {}).get("parameters", {}).get("migrate_to_chat_id")
    if answer is not None and migrate_to:
        chat_id = str(migrate_to)
        _save_chat_id(channel, config, chat_id)
        answer = _send_message(token, chat_id, text)
    if answer is not None:
        raise _error(answer)


def _send_message(token: str, chat_id: str, text: str) -> dict[str, Any] | None:
    """None on success, else Telegram's error answer."""
    url = f"{settings.TELEGRAM_API_BASE}/bot{token}/sendMessage"
    body = orjson.dumps(
        {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
    )
    try:
        # The API base is the operator's setting, not a user's URL, so no address guard.
        response = http.request(
            "POST",
            url,
            content=body,
            headers={"Content-Type": "application/json"},
            guard=False,
            follow_redirects=False,
        )
    except http.OutboundError as exc:
        raise TransportError(_scrub(str(exc), token), permanent=exc.permanent) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TransportError(
            f"Telegram answered HTTP {response.status_code} without JSON",
            permanent=False,
        )
    if response.status_code == 200 and answer.get("ok"):
        return None
    answer.setdefault("error_code", response.status_code)
    return answer


def _save_chat_id(channel: Channel, config: TelegramConfig, chat_id: str) -> None:
    new = config.model_copy(update={"chat_id": chat_id})
    channel.config = dump_config(new)
    Channel.objects.filter(pk=channel.pk).update(config=channel.config)


def _error(answer: dict[str, Any]) -> TransportError:
    code = int(answer.get("error_code", 0))
    description = str(answer.get("description", ""))[:300]
    text = f"Telegram: {code} {description}".strip()
    lowered = description.lower()
    if code == 429:
        retry_after = answer.get("parameters", {}).get("retry_after")
        return TransportError(
            text, retry_after=float(retry_after) if isinstance(retry_after, int | float) else None
        )
    if code == 403 or (code == 400 and "chat not found" in lowered):
        # The bot was blocked or removed, or the chat is gone: nothing will ever arrive.
        return TransportError(text, disable_channel=True)
    if code == 401 or code == 404:
        return TransportError(text + " (the bot token was rejected)", disable_channel=True)
    if 400 <= code < 500:
        return TransportError(text, permanent=True)
    return TransportError(text)
