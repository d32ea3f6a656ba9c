"""Keyset pagination on (received_at, id), newest first, for every list of the dashboard.

Never OFFSET: page N+1 starts right after the last row of page N, so the database walks the
list's (project, -received_at, -id) index (for orders `order_project_recent`) from that point
and stops after one page, however deep the reader goes. The order list and the event record
lists both page this way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Model, Q, QuerySet

PAGE_SIZE = 50
# The polling fragment sends at most this many rows at once; the next poll sends the rest.
NEWER_LIMIT = 100

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Cursor:
    """A row's position in the list; it travels in URLs as "<microseconds since epoch>.<id>"."""

    received_at: dt.datetime
    id: int

    @classmethod
    def of(cls, row: Any) -> Cursor:
        return cls(row.received_at, row.pk)

    def encode(self) -> str:
        return f"{(self.received_at - _EPOCH) // _MICROSECOND}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse an encoded cursor; ValueError when it is not one."""
        micros, sep, row_id = text.strip().partition(".")
        if not sep or not micros.lstrip("-").isdigit() or not row_id.isdigit():
            raise ValueError(text)
        try:
            received_at = _EPOCH + int(micros) * _MICROSECOND
        except OverflowError as exc:
            raise ValueError(text) from exc
        return cls(received_at, int(row_id))


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of aware datetimes; either end may be open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass
class Page(Generic[M]):
    rows: list[M]
    next_cursor: Cursor | None
    # Where the polling fragment starts: the newest row shown (None on an empty first page).
    newest: Cursor | None = field(default=None)


def older_than(cursor: Cursor) -> Q:
    # `received_at <= x` is a range condition on the index; the OR only sorts out the ties
    # on that one timestamp. A bare OR would make PostgreSQL scan from the newest row.
    return Q(received_at__lte=cursor.received_at) & (
        Q(received_at__lt=cursor.received_at) | Q(id__lt=cursor.id)
    )


def newer_than(cursor: Cursor) -> Q:
    return Q(received_at__gte=cursor.received_at) & (
        Q(received_at__gt=cursor.received_at) | Q(id__gt=cursor.id)
    )


def in_period(period: Period) -> Q:
    q = Q()
    if period.start is not None:
        q &= Q(received_at__gte=period.start)
    if period.end is not None:
        q &= Q(received_at__lt=period.end)
    return q


def keyset_page(qs: QuerySet[M], after: Cursor | None, size: int = PAGE_SIZE) -> Page[M]:
    """One page of `qs`, newest first, starting after `after` (from the newest when None)."""
    if after is not None:
        qs = qs.filter(older_than(after))
    rows = list(qs.order_by("-received_at", "-id")[: size + 1])
    next_cursor = Cursor.of(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    newest = Cursor.of(rows[0]) if rows and after is None else None
    return Page(rows, next_cursor, newest)


def keyset_newer(qs: QuerySet[M], since: Cursor, limit: int = NEWER_LIMIT) -> list[M]:
    """Rows after `since`, newest first; the oldest `limit` of them when there are more, so
    that repeated polls never leave a gap."""
    rows = list(qs.filter(newer_than(since)).order_by("received_at", "id")[:limit])
    rows.reverse()
    return rows


def project_zone(timezone: str) -> ZoneInfo:
    """The project's time zone; UTC when the stored name is unknown to this machine."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
