"""What the write side records: typed rows, the items handed to the batch writer, outcomes.

A row's fields are named after its table's columns, in the columns' order: the backends derive
their column lists (SQL) and JSON keys from `_fields`, never from positions.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
from dataclasses import dataclass
from typing import Any, NamedTuple


class OrderRow(NamedTuple):
    """One row of the order table, as the API accepted it."""

    project_id: int
    external_id: str
    total: int
    currency: str
    username: str
    email: str
    phone: str
    products: list[dict[str, Any]]
    data: list[dict[str, Any]]
    origin: str
    client_ip: str | None
    user_agent: str
    received_at: dt.datetime
    # Chosen by the request that sent the row: a retry of the same item after a lost
    # connection recognises its own insert by it (see ingest/__init__.py, rule "own row").
    ingest_tag: int
    # The dashboard's test order (projects/testmark.py): no quota, no tallies, still
    # notified. Last, and left out of HELD_COLUMNS: a test order is never held.
    is_test: bool = False


class EventRow(NamedTuple):
    """One row of the event record table."""

    project_id: int
    event_id: int
    data: list[dict[str, Any]]
    origin: str
    client_ip: str | None
    user_agent: str
    received_at: dt.datetime
    ingest_tag: int
    # A form post the spam rules caught (ingest/spam.py): stored, flagged, neither counted in
    # reports nor notified until a member marks it "not spam".
    spam: bool = False
    spam_reason: str = ""


# Stands in for "no limit" in SQL comparisons; no account records 2^62 orders a month.
UNLIMITED = 2**62
# Percentages of the plan's limit at which the owner is warned (rule "warn").
LIMIT_THRESHOLDS = (80, 100)
# The outbox's columns as both backends insert them.
DELIVERY_COLUMNS = (
    "channel_id, topic, {target}, status, attempts, next_attempt_at, claim, last_error, created"
)

ORDER_COLUMNS: tuple[str, ...] = OrderRow._fields
# A held order's row columns (accounts.HeldOrder): the order's but the test flag.
HELD_COLUMNS: tuple[str, ...] = ORDER_COLUMNS[:-1]
assert ORDER_COLUMNS[-1] == "is_test"
EVENT_COLUMNS: tuple[str, ...] = EventRow._fields
# Stored as JSON text on SQLite, jsonb on PostgreSQL.
JSON_COLUMNS = frozenset({"products", "data"})


def new_tag() -> int:
    """A random positive 63-bit tag (fits a bigint column).

    It only has to tell one request's copy of an order from another's, not resist guessing:
    `random` (reseeded in every forked process) costs no system call, `secrets` one per order.
    """
    return random.getrandbits(63)


@dataclass(frozen=True, slots=True)
class OrderItem:
    """An order on its way to the database: its row and what the rules check it against."""

    # None: a held order released by a plan change (ingest/held.py), admitted by its account
    # alone: the key that sent it may be gone since.
    key_id: int | None
    account_id: int
    period_start: dt.date
    row: OrderRow
    # The first day of the next period (billing_period's end); None: a month after the start.
    period_end: dt.date | None = None

    def hold_until(self, days: int) -> dt.datetime:
        """When a copy held by rule "limit" expires: the end of its period plus `days`."""
        end = self.period_end or self.period_start + dt.timedelta(days=31)
        return dt.datetime.combine(end + dt.timedelta(days=days), dt.time(), dt.UTC)


@dataclass(frozen=True, slots=True)
class EventItem:
    """An event record on its way to the database."""

    # None: a form post (/f/<event_key>, /hooks/forms/<token>), admitted by the event alone.
    key_id: int | None
    row: EventRow


Item = OrderItem | EventItem


class Outcome(enum.Enum):
    CREATED = "created"
    LIMIT_REACHED = "limit_reached"
    DUPLICATE = "duplicate"
    # The API key, its project or the account was deleted or deactivated between the key
    # check and the insert.
    KEY_GONE = "key_gone"
    # Events: the event was deleted, or deactivated, between the check and the insert.
    EVENT_GONE = "event_gone"
    EVENT_INACTIVE = "event_inactive"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    record_id: int | None = None

    @property
    def created(self) -> bool:
        return self.outcome is Outcome.CREATED
