"""Filters of the event record lists."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from orderreport.events.queries import RecordFilters
from orderreport.listing.forms import FilterForm
from orderreport.projects.models import Event, Project


class RecordFilterForm(FilterForm):
    """Period, event and a search in the data values. `event` is offered only on the list of
    all events; the per-event list passes its event instead."""

    event = forms.ModelChoiceField(
        label=_("Event"), queryset=Event.objects.none(), required=False, empty_label=_("All")
    )
    field_order = ["period", "start", "end", "event", "q", "after"]

    def __init__(
        self, data: Any, zone: ZoneInfo, project: Project, fixed_event: Event | None = None
    ) -> None:
        super().__init__(data, zone=zone)
        self.fixed_event = fixed_event
        if fixed_event is None:
            field = self.fields["event"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Event.objects.filter(project=project).order_by("name", "id")
        else:
            del self.fields["event"]

    def filters(self, now: dt.datetime | None = None) -> RecordFilters:
        event = self.fixed_event or self.cleaned_data.get("event")
        return RecordFilters(
            period=self.period_range(now),
            event_id=event.pk if event else None,
            text=self.cleaned_data["q"],
        )

    def is_filtered(self) -> bool:
        return super().is_filtered() or bool(self.cleaned_data.get("event"))
