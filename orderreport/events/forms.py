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
    """Period, event, a search in the data values, and records or spam. `event` is offered
    only on the list of all events; the per-event list passes its event instead."""

    event = forms.ModelChoiceField(
        label=_("Event"), queryset=Event.objects.none(), required=False, empty_label=_("All")
    )
    show = forms.ChoiceField(
        label=_("What to show"),
        choices=[("", _("Records")), ("spam", _("Spam"))],
        required=False,
    )
    field_order = ["period", "start", "end", "event", "q", "show", "after"]

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
            spam=self.shows_spam(),
        )

    def shows_spam(self) -> bool:
        return self.cleaned_data.get("show") == "spam"

    def is_filtered(self) -> bool:
        return super().is_filtered() or bool(self.cleaned_data.get("event")) or self.shows_spam()
