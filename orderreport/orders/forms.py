"""Filters of the order list (the shared ones of every list, plus currency and status) and the
order page's status form."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orderreport.listing.forms import FilterForm
from orderreport.orders.models import Status
from orderreport.orders.queries import OrderFilters

_CURRENCY = re.compile(r"[A-Z]{3}")


class OrderFilterForm(FilterForm):
    currency = forms.CharField(
        label=_("Currency"),
        required=False,
        # No max_length on the field: clean_currency's message says more than "at most 3".
        widget=forms.TextInput(attrs={"size": 4, "maxlength": 3, "autocapitalize": "characters"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), *Status.choices],
        required=False,
    )
    field_order = ["period", "start", "end", "status", "currency", "q", "after"]

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if currency and not _CURRENCY.fullmatch(currency):
            raise forms.ValidationError(_("Enter a three-letter currency code, such as RUB."))
        return currency

    def filters(self, now: dt.datetime | None = None) -> OrderFilters:
        return OrderFilters(
            period=self.period_range(now),
            currency=self.cleaned_data["currency"],
            status=self.cleaned_data["status"],
            text=self.cleaned_data["q"],
        )

    def is_filtered(self) -> bool:
        return super().is_filtered() or any(
            self.cleaned_data.get(name) for name in ("currency", "status")
        )


class StatusForm(forms.Form):
    """The order page's form that moves an order to another status."""

    status = forms.ChoiceField(
        label=_("Status"),
        choices=Status.choices,
        error_messages={
            "invalid_choice": _("%(value)s is not a status. Choose one from the list."),
            "required": _("Choose a status."),
        },
    )
