from __future__ import annotations

import unicodedata
from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account, Membership

# Room for any real shop's or company's name; the header and menus show it in full.
ACCOUNT_NAME_MAX = 100

ROLE_CHOICES = [
    (Membership.Role.ADMIN.value, _("Admin: everything but billing and deleting the account")),
    (Membership.Role.VIEWER.value, _("Viewer: reads, changes nothing")),
]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"), choices=ROLE_CHOICES, initial="viewer", widget=forms.RadioSelect
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


def _no_control_characters(value: str) -> None:
    # A line break or a terminal escape in a name shown in every header and mail subject is
    # never meant; say so instead of storing it.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise forms.ValidationError(
            _("The name cannot contain line breaks, tabs or other control characters.")
        )


def account_name_field(label: Any) -> forms.CharField:
    """The account's name as sign-up, "New account" and renaming ask for it."""
    return forms.CharField(
        label=label,
        max_length=ACCOUNT_NAME_MAX,
        strip=True,
        validators=[_no_control_characters],
        error_messages={
            "required": _("Enter the name of your shop or company."),
            "max_length": _(
                "Shorten the name to %(limit_value)d characters (it has %(show_value)d)."
            ),
        },
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )


class AccountNameForm(forms.Form):
    name = account_name_field(_("Account name"))


class NewAccountForm(forms.Form):
    name = account_name_field(_("Shop or company name"))


class SignupForm(AllauthSignupForm):
    """allauth's sign-up with the name of the account it creates (ACCOUNT_FORMS["signup"]).

    A sign-up from an invitation link joins the inviter's account instead (adapter.py), so it
    asks for no name.
    """

    account_name = account_name_field(_("Shop or company name"))

    field_order = ["email", "account_name", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account_name"].help_text = _(
            "Your account's name: your team sees it in the header and in invitations. "
            "You can change it later."
        )
        request = context.request
        if request is not None and get_adapter(request).invitation_token(request):
            del self.fields["account_name"]


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type the account's name to confirm"), max_length=200, strip=False
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_confirm(self) -> str:
        typed: str = self.cleaned_data["confirm"]
        if typed.strip() != self.account.name:
            raise forms.ValidationError(
                gettext("That is not the account's name. Type %(name)s exactly to delete it.")
                % {"name": self.account.name}
            )
        return typed
