"""Keeping User.language in step with the language a person picks before logging in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver
from django.http import HttpRequest

# Sent by services.set_plan inside its transaction (account=...); the write side's receiver
# releases held orders into the new plan's room and answers how many it recorded.
plan_changed = Signal()

# Sent by services.remove_member after the membership is gone (account=..., email=...): the
# address no longer belongs to someone in the account, so notify switches off the e-mail
# channels that deliver to it (accounts may not import notify).
member_removed = Signal()


@receiver(user_logged_in)
def remember_language_picked_before_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """A language picked on the login page is the latest choice; without one, the saved
    language applies (LanguageMiddleware), so a new browser opens in the user's language."""
    if request is None:
        return
    picked = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if picked in dict(settings.LANGUAGES) and picked != getattr(user, "language", picked):
        user.language = picked
        user.save(update_fields=["language"])
