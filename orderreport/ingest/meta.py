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
    # The X-OrderReport-Test header as sent ("" without one); honoured only if it is the
    # dashboard's mark of this project and order id (projects/testmark.py).
    test_mark: str = ""
