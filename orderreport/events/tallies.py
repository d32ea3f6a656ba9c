"""The event records' tallies (orderreport/tally.py): one per record, kept in step.

The write side adds new records with its own statements (none for spam); a deleted record
takes its one away here, in the delete's transaction, and a record marked "not spam" adds
its one here (spam.mark_not_spam).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.db import transaction

from orderreport import tally
from orderreport.events.models import EventRecord, EventTally


def _count(record: EventRecord, n: int) -> None:
    EventTally.objects.create(
        project_id=record.project_id,
        event_id=record.event_id,
        slot=tally.slot_of(record.received_at),
        records=n,
    )


def add(record: EventRecord) -> None:
    _count(record, 1)


def forget(record: EventRecord) -> None:
    """Take a deleted record out of the counts; spam was never in them."""
    if not record.spam:
        _count(record, -1)


def compact(limit: int = 2000) -> int:
    return tally.compact(EventTally, ("project_id", "slot"), ("event_id",), ("records",), limit)


def rebuild(project_ids: Sequence[int] | None = None, chunk: int = 2000) -> int:
    """Recompute these projects' event tallies (all when None) from their records, with
    writes to the record table held meanwhile (orders/tallies.rebuild says how)."""
    with transaction.atomic():
        tally.lock_against_writes(EventRecord)
        return _rebuild(project_ids, chunk)


def _rebuild(project_ids: Sequence[int] | None, chunk: int) -> int:
    records = EventRecord.objects.filter(spam=False)
    tallies = EventTally.objects.all()
    if project_ids is not None:
        records = records.filter(project_id__in=project_ids)
        tallies = tallies.filter(project_id__in=project_ids)
    tallies.delete()
    counts: Counter[tuple[int, int, int]] = Counter()
    rows = records.order_by().values_list("project_id", "event_id", "received_at")
    for project_id, event_id, received_at in rows.iterator(chunk_size=chunk):
        counts[project_id, event_id, tally.slot_of(received_at)] += 1
    EventTally.objects.bulk_create(
        [
            EventTally(project_id=p, event_id=e, slot=s, records=n, compacted=True)
            for (p, e, s), n in counts.items()
        ],
        batch_size=1000,
    )
    return counts.total()
