"""How django-allauth fits our accounts: a sign-up brings its own tenant."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation

from orderreport.accounts.models import User
from orderreport.accounts.services import create_account


class AccountAdapter(DefaultAccountAdapter):
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
