"""The filters every list has: a period in the project's days, text search, the page cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orderreport.listing.queries import Cursor, Period

QUICK_PERIODS = {"today": 1, "7d": 7, "30d": 30}
QUICK_CHOICES = [
    ("today", _("Today")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
]
# Far enough apart for any real order, near enough that converting a local midnight to UTC
# can never overflow Python's datetime.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9000, 12, 31)


def date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def checked_day(day: dt.date | None) -> dt.date | None:
    """A typed day, refused outside the days every list and report can compute with."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise forms.ValidationError(
            _("Enter a date between %(first)s and %(last)s."),
            params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return day


class FilterForm(forms.Form):
    """Period, text search and the keyset cursor, all read from the query string.

    Dates are days in the project's time zone: "from 1 May to 3 May" is from 1 May 00:00 to
    4 May 00:00 there, whatever the viewer's or the server's zone.
    """

    period = forms.ChoiceField(label=_("Period"), choices=QUICK_CHOICES, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=date_widget())
    end = forms.DateField(label=_("To"), required=False, widget=date_widget())
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.zone = zone

    def _clean_day(self, name: str) -> dt.date | None:
        return checked_day(self.cleaned_data.get(name))

    def clean_start(self) -> dt.date | None:
        return self._clean_day("start")

    def clean_end(self) -> dt.date | None:
        return self._clean_day("end")

    def clean_after(self) -> Cursor | None:
        return self._clean_cursor("after")

    def clean_before(self) -> Cursor | None:
        return self._clean_cursor("before")

    def _clean_cursor(self, name: str) -> Cursor | None:
        text = self.cleaned_data.get(name) or ""
        if not text:
            return None
        try:
            return Cursor.decode(text)
        except ValueError:
            raise forms.ValidationError(
                _("This page link is damaged. Start again from the first page.")
            ) from None

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start or end:
            # Dates typed into the form are more specific than a quick period still in the URL.
            data["period"] = ""
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date."))
        return data

    def _midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)

    def period_range(self, now: dt.datetime | None = None) -> Period:
        """The chosen days as a [start, end) interval of aware datetimes."""
        data = self.cleaned_data
        quick = data.get("period")
        if quick:
            today = (now or timezone.now()).astimezone(self.zone).date()
            first = today - dt.timedelta(days=QUICK_PERIODS[quick] - 1)
            return Period(start=self._midnight(first))
        start, end = data.get("start"), data.get("end")
        return Period(
            start=self._midnight(start) if start else None,
            end=self._midnight(end + dt.timedelta(days=1)) if end else None,
        )

    def is_filtered(self) -> bool:
        return any(self.cleaned_data.get(name) for name in ("period", "start", "end", "q"))
