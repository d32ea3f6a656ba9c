"""Filters of the order list: the shared ones of every list, plus currency."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orderreport.listing.forms import FilterForm
from orderreport.orders.queries import OrderFilters

_CURRENCY = re.compile(r"[A-Z]{3}")


class OrderFilterForm(FilterForm):
    currency = forms.CharField(
        label=_("Currency"),
        required=False,
        # No max_length on the field: clean_currency's message says more than "at most 3".
        widget=forms.TextInput(attrs={"size": 4, "maxlength": 3, "autocapitalize": "characters"}),
    )
    field_order = ["period", "start", "end", "currency", "q", "after"]

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if currency and not _CURRENCY.fullmatch(currency):
            raise forms.ValidationError(_("Enter a three-letter currency code, such as RUB."))
        return currency

    def filters(self, now: dt.datetime | None = None) -> OrderFilters:
        return OrderFilters(
            period=self.period_range(now),
            currency=self.cleaned_data["currency"],
            text=self.cleaned_data["q"],
        )

    def is_filtered(self) -> bool:
        return super().is_filtered() or bool(self.cleaned_data.get("currency"))
