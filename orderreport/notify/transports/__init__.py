"""One small module per channel kind, each with `send(delivery)`.

A transport returns when the message was handed over, and raises TransportError otherwise:
`permanent` when retrying cannot help, `disable_channel` when the channel itself is dead (a
blocked bot, a deleted chat), `retry_after` when the receiver said when to come back.
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from orderreport.notify.models import Delivery


class TransportError(Exception):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        disable_channel: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or disable_channel
        self.disable_channel = disable_channel
        self.retry_after = retry_after


class Transport(Protocol):
    def send(self, delivery: Delivery) -> None: ...


def transport_for(kind: str) -> Transport:
    return import_module(f"orderreport.notify.transports.{kind}")


def send(delivery: Delivery) -> None:
    """Send a delivery through its channel's transport (e-mail for the owner's warnings)."""
    kind = delivery.channel.kind if delivery.channel else "email"
    transport_for(kind).send(delivery)
