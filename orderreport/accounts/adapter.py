"""How django-allauth fits our accounts: a sign-up brings its own tenant, named by the person
signing up; a sign-up from an invitation link joins the inviter's tenant instead."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from orderreport.accounts.context_processors import SESSION_ACCOUNT
from orderreport.accounts.mail import queue_message
from orderreport.accounts.models import User
from orderreport.accounts.services import (
    MembershipError,
    accept_invitation,
    create_account,
    open_invitation,
)

# The token of the invitation whose address is stashed as verified (accounts/views.py).
SESSION_INVITATION = "invitation_token"
# The request attribute holding the address of the invitation a sign-up just accepted.
ACCEPTED_BY_SIGNUP = "orderreport_invitation_accepted"


class AccountAdapter(DefaultAccountAdapter):
    def stash_invitation(self, request: HttpRequest, token: str, email: str) -> None:
        """The invitation link proves the address: a sign-up with it needs no confirmation."""
        self.stash_verified_email(request, email)
        request.session[SESSION_INVITATION] = token

    def _invited_email(self, request: HttpRequest) -> str | None:
        """The stashed address while its invitation is still open; a withdrawn, used or
        expired invitation's stash is cleared, so it verifies nothing any more."""
        accepted = getattr(request, ACCEPTED_BY_SIGNUP, None)
        if accepted:
            # save_user accepted it a moment ago: used up now, yet it still proves the address
            # for the rest of this sign-up (allauth checks it after save_user).
            return str(accepted)
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

    def invitation_token(self, request: HttpRequest) -> str | None:
        """The token of the open invitation this visitor's sign-up comes from, if any."""
        if self._invited_email(request) is None:
            return None
        return str(request.session[SESSION_INVITATION])

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

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """Every allauth mail names the site by SITE_NAME and BASE_URL: without
        django.contrib.sites allauth names it by the request's host ("Hello from
        127.0.0.1:8000!")."""
        site = SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.BASE_URL).netloc)
        return super().render_mail(
            template_prefix, email, {**context, "current_site": site}, headers
        )

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Queue allauth's mail (confirmations, password resets, notices) for the worker
        instead of talking to SMTP inside the request (accounts/mail.py)."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        queue_message(self.render_mail(template_prefix, email, ctx))

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """Save the new user with their account in one transaction: a new account on
        DEFAULT_PLAN under the name they gave, or, signing up from an invitation link, the
        membership of the inviter's account."""
        language = translation.get_language() or settings.LANGUAGE_CODE
        if language in dict(settings.LANGUAGES):
            user.language = language
        if not commit:
            return super().save_user(request, user, form, commit=False)
        # Read before saving: the form asked for a name only without an invitation.
        name = form.cleaned_data.get("account_name")
        token = self.invitation_token(request)
        with transaction.atomic():
            saved: User = super().save_user(request, user, form, commit=True)
            joined = False
            if token and not name:
                # "Sign up to accept": the sign-up is the acceptance. clean_email made the
                # address the invited one, so only a race (withdrawn, expired this second)
                # fails here; then the newcomer names an account of their own on /projects/.
                try:
                    membership = accept_invitation(token, saved)
                except MembershipError:
                    pass
                else:
                    joined = True
                    setattr(request, ACCEPTED_BY_SIGNUP, saved.email)
                    request.session[SESSION_ACCOUNT] = membership.account_id
                    messages.success(
                        request,
                        _("You joined %(account)s.") % {"account": membership.account.name},
                    )
            if not joined and name:
                create_account(saved, name)
        return saved
