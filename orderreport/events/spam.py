"""Taking an event record out of spam.

The form endpoints' rules (ingest/spam.py) store a suspicious post with `spam` set and a
short reason code; the write side then neither tallies nor notifies it. "Not spam" does
both afterwards, as if the record had just arrived.
"""

from __future__ import annotations

from django.db import transaction

from orderreport.events import tallies
from orderreport.events.models import EventRecord
from orderreport.events.signals import record_admitted


def mark_not_spam(record: EventRecord) -> bool:
    """Count and notify a spam record as the write side would have; False if it was not
    spam (a second click, or another member was quicker), and nothing is done then."""
    with transaction.atomic():
        # The conditional update is the guard: of two concurrent clicks one updates a row,
        # the other none, so the record is tallied and notified once.
        changed = EventRecord.objects.filter(pk=record.pk, spam=True).update(
            spam=False, spam_reason=""
        )
        if not changed:
            return False
        record.spam, record.spam_reason = False, ""
        tallies.add(record)
        record_admitted.send(sender=EventRecord, record=record)
    return True
