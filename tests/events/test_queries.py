"""Event record queries: keyset pages, filters and the search in data values."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from orderreport.events.queries import RecordFilters, newer_records, record_page
from orderreport.listing.queries import Cursor, Period, older_than
from orderreport.projects.models import Event
from tests.conftest import Shop
from tests.events.conftest import MakeRecord

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_it_pages_through_ties_without_gaps_or_repeats(shop: Shop, make_record: MakeRecord) -> None:
    records = [make_record(shop.event, T0) for _ in range(5)]
    records.append(make_record(shop.event, T0 + dt.timedelta(seconds=1)))
    expected = [r.pk for r in sorted(records, key=lambda r: (r.received_at, r.pk), reverse=True)]
    seen, after = [], None
    while True:
        page = record_page(shop.project.pk, RecordFilters(), after, size=4)
        seen += [r.pk for r in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == expected


def test_it_filters_by_event_period_and_values(shop: Shop, make_record: MakeRecord) -> None:
    other_event = Event.objects.create(project=shop.project, name="Subscribe")
    a = make_record(shop.event, T0, data=[{"name": "Телефон", "value": "+7 999 111"}])
    b = make_record(
        other_event,
        T0 + dt.timedelta(days=1),
        data=[{"name": "E-mail", "value": "Bob@Example.com"}],
    )
    pid = shop.project.pk

    def ids(**kw: object) -> list[int]:
        return [r.pk for r in record_page(pid, RecordFilters(**kw)).rows]  # type: ignore[arg-type]

    assert ids(event_id=other_event.pk) == [b.pk]
    assert ids(text="999 1") == [a.pk]
    assert ids(text="bob@example") == [b.pk]
    assert ids(text="Телефон") == []  # names are not searched, only values
    assert ids(text="e-mail") == []
    assert ids(period=Period(start=T0 + dt.timedelta(hours=1))) == [b.pk]


def test_it_lists_only_the_projects_own_records(
    shop: Shop, other_shop: Shop, make_record: MakeRecord
) -> None:
    mine = make_record(shop.event, T0)
    make_record(other_shop.event, T0 + dt.timedelta(seconds=1))
    assert [r.pk for r in record_page(shop.project.pk, RecordFilters()).rows] == [mine.pk]
    since = Cursor(T0 - dt.timedelta(days=1), 0)
    assert [r.pk for r in newer_records(shop.project.pk, RecordFilters(), since)] == [mine.pk]


@pytest.mark.postgres
def test_it_walks_the_event_index_for_one_events_records(
    shop: Shop, make_record: MakeRecord
) -> None:
    from orderreport.events.queries import filtered_records

    make_record(shop.event)
    qs = filtered_records(shop.project.pk, RecordFilters(event_id=shop.event.pk))
    sql, params = (
        qs.filter(older_than(Cursor(T0, 10**9))).order_by("-received_at", "-id")[:51]
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "record_event_recent" in plan or "record_project_recent" in plan
    assert "Sort  " not in plan
