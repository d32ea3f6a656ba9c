"""What is stored with every accepted record besides its payload."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestMeta:
    origin: str
    client_ip: str | None
    user_agent: str
    received_at: dt.datetime
