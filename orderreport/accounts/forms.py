from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orderreport.accounts.models import Membership

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
