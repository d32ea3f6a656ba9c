"""Tallies: running sums kept beside the rows they count, so reports never scan every order.

A tally table holds signed delta rows. Whoever changes what a tally counts appends rows in
the same transaction (the write side for a new order, a status change, a delete), and nobody
ever updates a tally row in place: concurrent writers never wait on each other's hot rows,
and a rollback takes its deltas with it. A report sums the rows of its range, whatever their
number. The worker compacts now and then (compact() below): the rows of each key that gained
new rows are replaced by their sum, so a range holds about one row per key.

The buckets are quarter-hours, numbered from the Unix epoch (`slot`): every time zone in use
today is a whole number of quarter hours off UTC, so a local day or hour anywhere is an exact
union of buckets, DST days included; and a plain integer lets both databases group slots into
local days with integer arithmetic (reports/figures.py), no time zone functions per row.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction

SLOT_SECONDS = 900
SLOTS_PER_DAY = 96
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def slot_of(at: dt.datetime) -> int:
    """The number of the quarter-hour `at` falls in, counted from the Unix epoch."""
    return (at - _EPOCH) // dt.timedelta(seconds=SLOT_SECONDS)


def slot_start(slot: int) -> dt.datetime:
    """The first instant of a quarter-hour (aware, UTC)."""
    return _EPOCH + dt.timedelta(seconds=slot * SLOT_SECONDS)


def compact(
    model: type[models.Model],
    partition: tuple[str, str],
    rest: Sequence[str],
    sums: Sequence[str],
    limit: int = 2000,
) -> int:
    """Fold the rows of keys that gained deltas into one compacted row per key.

    `partition` is the leading key pair an index serves (project, slot or day); `rest` completes
    the key; `sums` are the additive columns. Takes up to `limit` uncompacted rows' keys per
    call and answers how many rows it removed. Safe to run from several workers at once:
    the rows are locked, summed and deleted in one transaction; a second compactor that
    waited on the same rows finds them gone and skips them (PostgreSQL re-checks locked rows
    under READ COMMITTED; SQLite has one writer). Keys whose deltas cancel out vanish.
    """
    manager: Any = model._default_manager
    first, second = partition
    with transaction.atomic():
        pending = list(
            manager.filter(compacted=False).order_by("id").values_list(first, second)[:limit]
        )
        if not pending:
            return 0
        by_first: dict[Any, set[Any]] = defaultdict(set)
        for a, b in pending:
            by_first[a].add(b)
        fields = ("id", first, second, *rest, *sums)
        totals: dict[tuple[Any, ...], list[Any]] = {}
        ids: list[int] = []
        for a, bs in sorted(by_first.items()):
            rows = (
                manager.select_for_update()
                .filter(**{first: a, f"{second}__in": sorted(bs)})
                .order_by("id")
                .values_list(*fields)
            )
            for row in rows:
                ids.append(row[0])
                key = tuple(row[1 : 3 + len(rest)])
                values = row[3 + len(rest) :]
                acc = totals.setdefault(key, [0] * len(sums))
                for n, value in enumerate(values):
                    acc[n] += value
        for chunk in _chunks(ids, 500):
            manager.filter(id__in=chunk).delete()
        keys = (first, second, *rest)
        manager.bulk_create(
            [
                model(
                    compacted=True,
                    **dict(zip(keys, key, strict=True)),
                    **dict(zip(sums, _ints(values), strict=True)),
                )
                for key, values in totals.items()
                if any(values)
            ],
            batch_size=500,
        )
    return len(ids)


def lock_against_writes(model: type[models.Model]) -> None:
    """Hold writes to `model`'s table until this transaction ends, for a rebuild: PostgreSQL's
    SHARE mode lets readers through and makes writers wait (up to their lock timeout);
    SQLite's transaction already holds its one write lock."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")


def _ints(values: Iterable[Any]) -> list[int]:
    return [int(v) if isinstance(v, Decimal | float) else v for v in values]


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for n in range(0, len(items), size):
        yield items[n : n + size]
