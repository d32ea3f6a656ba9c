"""Event records written straight into the database, with the times the tests need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from orderreport.events.models import EventRecord
from orderreport.projects.models import Event

MakeRecord = Callable[..., EventRecord]


@pytest.fixture
def make_record(db: None) -> MakeRecord:
    def make(
        event: Event,
        received_at: dt.datetime | None = None,
        data: list[dict[str, str]] | None = None,
        **fields: Any,
    ) -> EventRecord:
        return EventRecord.objects.create(
            project_id=event.project_id,
            event=event,
            data=data if data is not None else [{"name": "Имя", "value": "John Doe"}],
            received_at=received_at or dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC),
            **fields,
        )

    return make
