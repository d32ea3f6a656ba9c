"""Keyset pagination on (received_at, id), newest first, for every list of the dashboard.

Never OFFSET: page N+1 starts right after the last row of page N, so the database walks the
list's (project, -received_at, -id) index (for orders `order_project_recent`) from that point
and stops after one page, however deep the reader goes. The order list and the event record
lists both page this way.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connections
from django.db.models import Model, Q, QuerySet

PAGE_SIZE = 50
# Lists count their rows exactly up to this many; above it they say "about" (PostgreSQL's
# planner estimate) or "more than": an exact count of a million rows reads them all.
EXACT_UP_TO = 10_000
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
    # How many rows come before this page (None when more than EXACT_UP_TO), and the link one
    # page back: `before=previous_cursor`, or the first page when has_previous and it is None.
    offset: int | None = 0
    has_previous: bool = False
    previous_cursor: Cursor | None = None


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


def count_up_to(qs: QuerySet[M]) -> int:
    """The number of rows, or EXACT_UP_TO + 1 when there are more: never reads more."""
    return qs.order_by()[: EXACT_UP_TO + 1].count()


def keyset_page(
    qs: QuerySet[M],
    after: Cursor | None,
    size: int = PAGE_SIZE,
    before: Cursor | None = None,
    *,
    positions: bool = False,
) -> Page[M]:
    """One page of `qs`, newest first: the rows after `after` (from the newest when both are
    None), or the `size` rows just before `before` (the link one page back). With
    `positions` (the dashboard's lists) a later page also counts the rows before it, up to
    EXACT_UP_TO; the read API does without."""
    if before is not None:
        # Walks the same index the other way from `before`, and stops after one page.
        newer = list(qs.filter(newer_than(before)).order_by("received_at", "id")[: size + 1])
        more_newer = len(newer) > size
        rows = newer[:size][::-1]
        if not more_newer:
            # Back at the top: the first page, with its polling and its full length.
            return keyset_page(qs, None, size, positions=positions)
        next_cursor = Cursor.of(rows[-1]) if rows else None
        offset = _rows_before(qs, rows[0])
        return Page(rows, next_cursor, None, offset, True, _previous(qs, rows[0], size, offset))
    older = qs.filter(older_than(after)) if after is not None else qs
    rows = list(older.order_by("-received_at", "-id")[: size + 1])
    next_cursor = Cursor.of(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    newest = Cursor.of(rows[0]) if rows and after is None else None
    if after is None or not rows or not positions:
        return Page(rows, next_cursor, newest, 0 if after is None else None, after is not None)
    offset = _rows_before(qs, rows[0])
    return Page(rows, next_cursor, newest, offset, True, _previous(qs, rows[0], size, offset))


def _rows_before(qs: QuerySet[M], first: M) -> int | None:
    n = count_up_to(qs.filter(newer_than(Cursor.of(first))))
    return n if n <= EXACT_UP_TO else None


def _previous(qs: QuerySet[M], first: M, size: int, offset: int | None) -> Cursor | None:
    """The cursor of the page before the one starting at `first`; None for the first page."""
    return None if offset is not None and offset <= size else Cursor.of(first)


@dataclass(frozen=True)
class Total:
    """How many rows a list has: `count` exactly, "about" `count`, or more than `count`."""

    count: int
    kind: str  # "exact", "about" or "over"
    cap: int = EXACT_UP_TO  # up to where counts are exact


def list_total(qs: QuerySet[M], estimate: bool) -> Total:
    """The list's size: exact up to EXACT_UP_TO; above, PostgreSQL's planner estimate when
    `estimate` (unfiltered lists, where it is good), else "more than EXACT_UP_TO"."""
    n = count_up_to(qs)
    if n <= EXACT_UP_TO:
        return Total(n, "exact", EXACT_UP_TO)
    if estimate and connections[qs.db].vendor == "postgresql":
        guess = _planner_rows(qs)
        if guess > EXACT_UP_TO:
            # Three significant digits: the estimate is not more precise than that.
            return Total(round(guess, 3 - len(str(guess))), "about", EXACT_UP_TO)
    return Total(EXACT_UP_TO, "over", EXACT_UP_TO)


def _planner_rows(qs: QuerySet[M]) -> int:
    """The planner's estimate of the query's rows (EXPLAIN reads statistics, not rows)."""
    plan = json.loads(qs.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


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
