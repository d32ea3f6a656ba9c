from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Account, Membership

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


class AccountNameForm(forms.Form):
    name = forms.CharField(label=_("Account name"), max_length=200, strip=True)


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
