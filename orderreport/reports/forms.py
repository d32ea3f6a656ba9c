"""The overview's period picker: quick periods and custom dates, read from the query string."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orderreport.listing.forms import checked_day, date_widget
from orderreport.reports.figures import MAX_DAYS, Period

PERIODS = [
    ("today", _("Today")),
    ("yesterday", _("Yesterday")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("month", _("This month")),
    ("last_month", _("Last month")),
]
DEFAULT_PERIOD = "7d"
_LAST_DAYS = {"7d": 7, "30d": 30, "90d": 90}


def quick_period(name: str, today: dt.date, zone: ZoneInfo) -> Period:
    """A named period ending today (or last month) in `zone`."""
    if name == "today":
        return Period(today, today, zone)
    if name == "yesterday":
        day = today - dt.timedelta(days=1)
        return Period(day, day, zone)
    if name == "month":
        return Period(today.replace(day=1), today, zone)
    if name == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return Period(last.replace(day=1), last, zone)
    return Period(today - dt.timedelta(days=_LAST_DAYS[name] - 1), today, zone)


class PeriodForm(forms.Form):
    """`period` (a quick one) or `start` and `end` (local days, both included); `tz` only on
    the account overview, whose projects may live in different zones."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=date_widget())
    end = forms.DateField(label=_("To"), required=False, widget=date_widget())
    tz = forms.ChoiceField(label=_("Time zone"), required=False)

    def __init__(
        self,
        data: Any,
        zone: ZoneInfo,
        zones: list[str] | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        super().__init__(data)
        self.default_zone = zone
        self.now = now
        if zones is None:
            del self.fields["tz"]
        else:
            cast(forms.ChoiceField, self.fields["tz"]).choices = [(z, z) for z in zones]

    def _clean_day(self, name: str) -> dt.date | None:
        return checked_day(self.cleaned_data.get(name))

    def clean_start(self) -> dt.date | None:
        return self._clean_day("start")

    def clean_end(self) -> dt.date | None:
        return self._clean_day("end")

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if start or end:
            # Typed dates are more specific than a quick period still in the URL.
            data["period"] = ""
            if not start:
                self.add_error("start", _("Enter the first day of the period."))
            elif not end:
                self.add_error("end", _("Enter the last day of the period."))
            elif start > end:
                self.add_error("end", _("The end date is before the start date."))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "end",
                    _("A period can be at most %(days)s days long.") % {"days": MAX_DAYS},
                )
        elif not data.get("period"):
            data["period"] = DEFAULT_PERIOD
        return data

    @property
    def zone(self) -> ZoneInfo:
        name = self.cleaned_data.get("tz") if "tz" in self.fields else None
        return ZoneInfo(name) if name else self.default_zone

    @property
    def quick(self) -> str:
        """The chosen quick period, "" for custom dates."""
        return str(self.cleaned_data.get("period") or "")

    def chosen_period(self) -> Period:
        """The chosen local days (call after is_valid())."""
        data, zone = self.cleaned_data, self.zone
        if self.quick:
            today = (self.now or timezone.now()).astimezone(zone).date()
            return quick_period(self.quick, today, zone)
        return Period(data["start"], data["end"], zone)
