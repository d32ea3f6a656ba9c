"""Forms of the project pages: they keep what was typed and say exactly what is wrong."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account
from orderreport.money import CURRENCIES
from orderreport.projects.domains import InvalidDomain, normalize_domain
from orderreport.projects.models import Domain, Project
from orderreport.projects.pickers import (
    canonical_zones,
    currency_choices,
    timezone_choices,
    zone_aliases,
)

# normalize_domain's fixed messages, marked here so makemessages keeps them; DomainForm shows
# InvalidDomain's text through gettext. (Messages quoting the input stay English.)
DOMAIN_MESSAGES = (
    gettext_noop("Enter a domain, for example example.com."),
    gettext_noop("A domain cannot contain a user name or password."),
    gettext_noop("A wildcard is only allowed as the first label: *.example.com."),
    gettext_noop("A wildcard needs a domain with a dot after it: *.example.com."),
)


class CurrencyField(forms.ChoiceField):
    """ISO 4217 codes are case-insensitive, as in the API; stored upper-case."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).strip().upper()

    def validate(self, value: Any) -> None:
        if value in CURRENCIES and not self.valid_value(value):
            # The API still takes it (old orders, old shops); a new choice should be current.
            raise forms.ValidationError(
                _("%(value)s is no longer in use; choose a current currency from the list."),
                code="invalid_choice",
                params={"value": value},
            )
        super().validate(value)


class TimeZoneField(forms.ChoiceField):
    def validate(self, value: Any) -> None:
        canonical = zone_aliases().get(value)
        if canonical and not self.valid_value(value):
            raise forms.ValidationError(
                _("%(value)s is another name for %(zone)s; choose %(zone)s from the list."),
                code="invalid_choice",
                params={"value": value, "zone": canonical},
            )
        super().validate(value)


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, strip=True)
    timezone = TimeZoneField(
        label=_("Time zone"),
        help_text=_("Order dates and period filters use it."),
    )
    currency = CurrencyField(
        label=_("Default currency"),
        help_text=_("Used when an order does not say its currency."),
    )

    def __init__(self, *args: Any, keep: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A project keeps what it has (an alias zone, a currency no longer issued) until its
        # owner picks something else: the pickers offer it too.
        zone, currency = (keep.timezone, keep.currency) if keep else ("", "")
        self.fields["timezone"].choices = timezone_choices(zone)  # type: ignore[attr-defined]
        self.fields["currency"].choices = currency_choices(currency)  # type: ignore[attr-defined]
        self.fields["timezone"].error_messages["invalid_choice"] = _(
            "%(value)s is not a time zone; choose one from the list, for example Europe/Moscow."
        )
        self.fields["currency"].error_messages["invalid_choice"] = _(
            "%(value)s is not an ISO 4217 currency code; choose one from the list."
        )

    @classmethod
    def for_project(cls, project: Project, data: Any = None) -> ProjectForm:
        initial = {"name": project.name, "timezone": project.timezone, "currency": project.currency}
        return cls(data, initial=initial, keep=project)


def _usual_zone(accounts: list[Account]) -> str:
    """The zone of the newest project in these accounts (a second shop is most often where the
    first one is), else UTC: the default when the browser does not say its own."""
    zone = (
        Project.objects.filter(account__in=accounts)
        .order_by("-id")
        .values_list("timezone", flat=True)
        .first()
    )
    return zone if zone in canonical_zones() else "UTC"


class NewProjectForm(ProjectForm):
    """ProjectForm with the account to create it in, when the user can write to several."""

    account = forms.TypedChoiceField(
        label=_("Account"),
        coerce=int,
        help_text=_("The project belongs to this account: its team sees it, its plan counts it."),
    )

    field_order = ["account", "name", "timezone", "currency"]

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"timezone": _usual_zone(accounts), "currency": "RUB"})
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # zone-picker.js moves an untouched picker to the browser's zone; the aliases map
            # the names browsers report (Asia/Calcutta) to the offered ones (Asia/Kolkata).
            self.fields["timezone"].widget.attrs.update(
                {"data-browser-zone": "", "data-zone-aliases": json.dumps(zone_aliases())}
            )
        self.accounts = {a.pk: a for a in accounts}
        field = self.fields["account"]
        field.choices = [(a.pk, a.name) for a in accounts]  # type: ignore[attr-defined]
        field.error_messages["invalid_choice"] = _(
            "Choose one of your accounts where you can create projects."
        )
        if len(accounts) == 1:
            # Nothing to choose: the field is not shown and the one account is taken.
            field.widget = forms.HiddenInput()
            field.required = False
            field.initial = accounts[0].pk

    def clean_account(self) -> Account:
        chosen = self.cleaned_data.get("account")
        if not chosen:  # optional only when there is a single account to take
            return next(iter(self.accounts.values()))
        return self.accounts[chosen]


class DeleteProjectForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type the project's name to confirm"), max_length=200, strip=False
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"]
        if typed.strip() != self.project.name:
            raise forms.ValidationError(
                gettext("That is not the project's name. Type %(name)s exactly to delete it.")
                % {"name": self.project.name}
            )
        return typed


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=2100,
        help_text=_(
            "Paste the site's address: https://shop.example.com/cart, пример.рф and "
            "*.example.com (every subdomain) all work."
        ),
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_domain(self) -> str:
        try:
            host = normalize_domain(self.cleaned_data["domain"])
        except InvalidDomain as exc:
            raise forms.ValidationError(gettext(str(exc))) from None
        if Domain.objects.filter(project=self.project, host=host).exists():
            raise forms.ValidationError(
                gettext("%(host)s is already in this project.") % {"host": host}
            )
        return host


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Where the key is used, for example “Shop front end”."),
    )


class ServerKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which server uses the key, for example “CRM” or “1C exchange”."),
    )


class EventForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("For example “Call-back request”.")
    )
