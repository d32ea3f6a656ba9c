"""How django-allauth fits our accounts: a sign-up brings its own tenant."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from orderreport.accounts.models import User
from orderreport.accounts.services import create_account, open_invitation

# The token of the invitation whose address is stashed as verified (accounts/views.py).
SESSION_INVITATION = "invitation_token"


class AccountAdapter(DefaultAccountAdapter):
    def stash_invitation(self, request: HttpRequest, token: str, email: str) -> None:
        """The invitation link proves the address: a sign-up with it needs no confirmation."""
        self.stash_verified_email(request, email)
        request.session[SESSION_INVITATION] = token

    def _invited_email(self, request: HttpRequest) -> str | None:
        """The stashed address while its invitation is still open; a withdrawn, used or
        expired invitation's stash is cleared, so it verifies nothing any more."""
        email = request.session.get("account_verified_email")
        token = request.session.get(SESSION_INVITATION)
        if not email or not token:
            return None
        invitation = open_invitation(token)
        if invitation is None or invitation.email.lower() != email.lower():
            request.session.pop("account_verified_email", None)
            request.session.pop(SESSION_INVITATION, None)
            return None
        return str(email)

    def unstash_verified_email(self, request: HttpRequest) -> str | None:
        email = self._invited_email(request)
        request.session.pop("account_verified_email", None)
        request.session.pop(SESSION_INVITATION, None)
        return email

    def is_email_verified(self, request: HttpRequest, email: str) -> bool:
        invited = self._invited_email(request)
        return invited is not None and invited.lower() == email.lower()

    def clean_email(self, email: str) -> str:
        """A sign-up that started from an invitation link uses the invited address: the link
        proves that address only, never the one typed instead."""
        email = super().clean_email(email)
        request = getattr(self, "request", None)
        if request is None or request.user.is_authenticated:
            return email
        invited = self._invited_email(request)
        if invited and invited.lower() != email.strip().lower():
            raise forms.ValidationError(
                _("This sign-up comes from the invitation for %(email)s: use that address.")
                % {"email": invited}
            )
        return email

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """Save the new user and create their account on DEFAULT_PLAN in one transaction."""
        language = translation.get_language() or settings.LANGUAGE_CODE
        if language in dict(settings.LANGUAGES):
            user.language = language
        if not commit:
            return super().save_user(request, user, form, commit=False)
        with transaction.atomic():
            saved: User = super().save_user(request, user, form, commit=True)
            create_account(saved, saved.email)
        return saved
