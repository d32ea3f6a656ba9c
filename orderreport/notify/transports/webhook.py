"""Webhooks: a signed JSON POST to the owner's URL (schema in docs/notifications.md)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from django.utils.translation import gettext_noop

from orderreport.notify import crypto, digest, http
from orderreport.notify.config import WebhookConfig
from orderreport.notify.messages import order_url
from orderreport.notify.models import Delivery
from orderreport.notify.transports import TransportError
from orderreport.reports.figures import Money

SCHEMA_VERSION = 1
SIGNATURE_HEADER = "X-OrderReport-Signature"
TIMESTAMP_HEADER = "X-OrderReport-Timestamp"
DELIVERY_HEADER = "X-OrderReport-Delivery"
TYPES = {
    Delivery.Topic.ORDER: "order.created",
    Delivery.Topic.EVENT: "event.recorded",
    Delivery.Topic.LIMIT: "plan.limit_warning",
    Delivery.Topic.STATUS: "order.updated",
    Delivery.Topic.TEST: "test",
    Delivery.Topic.DIGEST: "digest.daily",
}
# Kept in the delivery log in English and shown translated; retried, as a restored key
# lets the retries through (a new secret would not match what the receiver has).
SECRET_UNREADABLE = gettext_noop(
    "The signing secret cannot be decrypted with this server's encryption keys "
    "(SECRETS_KEYS): make a new secret and give it to the receiver."
)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """v1=<hex HMAC-SHA256 of "timestamp.body">, what receivers recompute to verify."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def payload(delivery: Delivery) -> dict[str, Any]:
    """The JSON body, version 1. Amounts are integers in minor units, as the API took them."""
    channel = delivery.channel
    assert channel is not None
    project = channel.project
    body: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "type": TYPES[Delivery.Topic(delivery.topic)],
        # Stays the same across retries of one delivery: receivers use it to drop repeats.
        "delivery_id": str(delivery.pk),
        "created_at": _iso(delivery.created),
        "project": {"id": project.pk, "name": project.name},
    }
    if delivery.order is not None:
        order = delivery.order
        body["order"] = {
            "id": order.external_id,
            "total": order.total,
            "currency": order.currency,
            "username": order.username,
            "email": order.email,
            "phone": order.phone,
            "products": order.products,
            "data": order.data,
            "received_at": _iso(order.received_at),
            "url": order_url(project.pk, order.pk),
            # The integration page's test order: not counted in reports or the plan.
            "test": order.is_test,
        }
    if delivery.status_change is not None:
        change = delivery.status_change
        if "order" in body:
            body["order"]["status"] = change.to_status
        body["status_change"] = {
            "from": change.from_status,
            "to": change.to_status,
            "changed_at": _iso(change.changed_at),
            "source": change.source,
        }
    if delivery.event_record is not None:
        record = delivery.event_record
        body["event"] = {
            "record_id": str(record.pk),
            "name": record.event.name,
            "key": record.event.key,
            "data": record.data,
            "received_at": _iso(record.received_at),
        }
    if delivery.limit_warning is not None:
        warning = delivery.limit_warning
        body["limit"] = {
            "threshold_percent": warning.threshold,
            "used": warning.used,
            "monthly_limit": warning.monthly_limit,
            "period_start": warning.period_start.isoformat(),
        }
    if delivery.topic == Delivery.Topic.DIGEST and delivery.digest_day is not None:
        body["digest"] = _digest(digest.of(delivery))
    return body


def _money(m: Money) -> dict[str, Any]:
    return {"revenue": m.revenue, "orders": m.orders, "average": m.average, "items": m.items}


def _digest(figures: digest.Digest) -> dict[str, Any]:
    """Yesterday's figures; amounts in minor units, one entry per currency, never summed."""
    return {
        "day": figures.day.isoformat(),
        "timezone": figures.zone.key,
        "currencies": [
            {
                "currency": c.currency,
                **_money(c.day),
                "cancelled_orders": c.day.cancelled_orders,
                "cancelled_total": c.day.cancelled_total,
                "previous_day": _money(c.before),
                "top_product": (
                    {"name": c.top.name, "quantity": c.top.quantity, "revenue": c.top.revenue}
                    if c.top is not None
                    else None
                ),
            }
            for c in figures.currencies
        ],
        "leads": figures.leads,
        "previous_day_leads": figures.previous_leads,
        "url": figures.url,
    }


def send(delivery: Delivery) -> None:
    assert delivery.channel is not None
    config = delivery.channel.settings
    assert isinstance(config, WebhookConfig)
    try:
        secret = crypto.unseal(config.secret)
    except crypto.SecretUnreadable:
        raise TransportError(SECRET_UNREADABLE) from None
    body = orjson.dumps(payload(delivery))
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: str(delivery.pk),
    }
    try:
        response = http.request("POST", config.url, content=body, headers=headers)
    except http.OutboundError as exc:
        raise TransportError(str(exc), permanent=exc.permanent) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    text = f"Webhook answered HTTP {status}"
    if status == 410:  # the receiver says it is gone for good
        raise TransportError(text, disable_channel=True)
    if 400 <= status < 500 and status not in (408, 425, 429):
        raise TransportError(text, permanent=True)
    retry_after = response.headers.get("retry-after", "")
    raise TransportError(text, retry_after=float(retry_after) if retry_after.isdigit() else None)
