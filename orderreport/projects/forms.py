"""Forms of the project pages: they keep what was typed and say exactly what is wrong."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from babel.numbers import get_currency_name
from django import forms
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account
from orderreport.money import CURRENCIES
from orderreport.projects.domains import InvalidDomain, normalize_domain
from orderreport.projects.models import Domain, Project

# normalize_domain's fixed messages, marked here so makemessages keeps them; DomainForm shows
# InvalidDomain's text through gettext. (Messages quoting the input stay English.)
DOMAIN_MESSAGES = (
    gettext_noop("Enter a domain, for example example.com."),
    gettext_noop("A domain cannot contain a user name or password."),
    gettext_noop("A wildcard is only allowed as the first label: *.example.com."),
    gettext_noop("A wildcard needs a domain with a dot after it: *.example.com."),
)


@cache
def timezone_choices() -> list[tuple[str, str]]:
    # "localtime" and the like are aliases of the server's zone, meaningless to an owner.
    names = sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
    return [(name, name.replace("_", " ")) for name in names]


@cache
def _currency_choices(language: str) -> list[tuple[str, str]]:
    locale = "ru" if language.startswith("ru") else "en"
    return [
        (code, f"{code} · {get_currency_name(code, locale=locale)}") for code in sorted(CURRENCIES)
    ]


def currency_choices() -> list[tuple[str, str]]:
    return _currency_choices(translation.get_language() or "en")


class CurrencyField(forms.ChoiceField):
    """ISO 4217 codes are case-insensitive, as in the API; stored upper-case."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).strip().upper()


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, strip=True)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Order dates and period filters use it."),
    )
    currency = CurrencyField(
        label=_("Default currency"),
        help_text=_("Used when an order does not say its currency."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]
        self.fields["currency"].choices = currency_choices()  # type: ignore[attr-defined]
        self.fields["timezone"].error_messages["invalid_choice"] = _(
            "%(value)s is not a time zone; choose one from the list, for example Europe/Moscow."
        )
        self.fields["currency"].error_messages["invalid_choice"] = _(
            "%(value)s is not an ISO 4217 currency code; choose one from the list."
        )

    @classmethod
    def for_project(cls, project: Project, data: Any = None) -> ProjectForm:
        initial = {"name": project.name, "timezone": project.timezone, "currency": project.currency}
        return cls(data, initial=initial)


class NewProjectForm(ProjectForm):
    """ProjectForm with the account to create it in, when the user can write to several."""

    account = forms.TypedChoiceField(label=_("Account"), coerce=int)

    field_order = ["account", "name", "timezone", "currency"]

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"timezone": "UTC", "currency": "RUB"})
        super().__init__(*args, **kwargs)
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
