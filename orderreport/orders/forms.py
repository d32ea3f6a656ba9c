"""Filters of the order list (the shared ones of every list, plus currency and status) and the
order page's status form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.http import QueryDict
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from orderreport.listing.forms import FilterForm
from orderreport.orders.models import Status
from orderreport.orders.queries import OrderFilters
from orderreport.projects.pickers import currency_label

_CURRENCY = re.compile(r"[A-Z]{3}")


class OrderFilterForm(FilterForm):
    # A CharField shown as a select: links with any code (?currency=usd) keep working and a
    # malformed one gets clean_currency's message, not "not one of the choices".
    currency = forms.CharField(label=_("Currency"), required=False, widget=forms.Select)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), *Status.choices],
        required=False,
    )
    test = forms.ChoiceField(
        label=_("Test orders"),
        choices=[("", _("Shown")), ("hide", _("Hidden")), ("only", _("Only these"))],
        required=False,
    )
    field_order = ["period", "start", "end", "status", "currency", "test", "q", "after"]

    def __init__(
        self, data: Any, zone: ZoneInfo, currencies: Iterable[str] = (), **kwargs: Any
    ) -> None:
        """`currencies`: the project's orders' currencies, the ones worth filtering by."""
        super().__init__(data, zone, **kwargs)
        offered = set(currencies)
        asked = str(self.data.get("currency") or "").strip().upper()
        if _CURRENCY.fullmatch(asked):
            offered.add(asked)  # a link's currency is shown chosen, even one with no orders
            if asked != self.data.get("currency"):
                data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
                data["currency"] = asked  # ?currency=usd selects "USD"
                self.data = data
        locale = "ru" if (get_language() or "en").startswith("ru") else "en"
        widget = self.fields["currency"].widget
        widget.choices = [
            ("", _("Any currency")),
            *((code, currency_label(code, locale)) for code in sorted(offered)),
        ]

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
            test=self.cleaned_data["test"],
        )

    def is_filtered(self) -> bool:
        return super().is_filtered() or any(
            self.cleaned_data.get(name) for name in ("currency", "status", "test")
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
