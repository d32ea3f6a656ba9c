"""The event record lists' queries; keyset pagination comes from orderreport.listing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Func, QuerySet, TextField

from orderreport.events.models import EventRecord
from orderreport.listing.queries import (
    PAGE_SIZE,
    Cursor,
    Page,
    Period,
    Total,
    in_period,
    keyset_newer,
    keyset_page,
    list_total,
)


@dataclass(frozen=True)
class RecordFilters:
    period: Period = field(default_factory=Period)
    event_id: int | None = None
    text: str = ""
    # Spam is kept apart: the lists, their polling and exports show either the records or,
    # under the "Spam" filter, only the spam (its partial index, record_project_spam).
    spam: bool = False


class DataValues(Func):
    """The values of a record's data pairs joined by spaces (names left out, so searching
    "phone" finds a phone value, not every form with a phone field).

    Not indexed: the search filters rows while the database walks the (project or event,
    received_at) index newest first and stops after one page. That is cheap when matches are
    common or a period narrows the walk; a rare string over a project's whole history reads
    all of its records. A trigram index over this expression is the next step if that hurts.
    """

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(F("data"))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(SELECT string_agg(v.value ->> 'value', ' ') "
            "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
            "THEN %(expressions)s ELSE '[]'::jsonb END) AS v "
            "WHERE jsonb_typeof(v.value) = 'object')",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(SELECT group_concat(json_extract(v.value, '$.value'), ' ') "
            "FROM json_each(%(expressions)s) AS v WHERE v.type = 'object')",
            **extra,
        )


def filtered_records(project_id: int, filters: RecordFilters) -> QuerySet[EventRecord]:
    qs = EventRecord.objects.filter(project_id=project_id, spam=filters.spam)
    qs = qs.filter(in_period(filters.period))
    if filters.event_id is not None:
        qs = qs.filter(event_id=filters.event_id)
    if filters.text:
        qs = qs.alias(values=DataValues()).filter(values__icontains=filters.text)
    return qs.select_related("event").defer("user_agent")


def record_page(
    project_id: int,
    filters: RecordFilters,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
    before: Cursor | None = None,
) -> Page[EventRecord]:
    return keyset_page(filtered_records(project_id, filters), after, size, before, positions=True)


def record_total(project_id: int, filters: RecordFilters, filtered: bool) -> Total:
    """How many records the list has; estimated above EXACT_UP_TO when it is not filtered."""
    return list_total(filtered_records(project_id, filters), estimate=not filtered)


def newer_records(project_id: int, filters: RecordFilters, since: Cursor) -> list[EventRecord]:
    return keyset_newer(filtered_records(project_id, filters), since)
