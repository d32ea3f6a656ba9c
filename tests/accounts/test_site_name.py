"""SITE_NAME names the site in pages and in every mail (issue 13 item 8): allauth's mails said
"Hello from 127.0.0.1:18803!", the request's host, since there is no django.contrib.sites."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from allauth.account.adapter import get_adapter
from allauth.core import context as allauth_context
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from orderreport.accounts.models import Invitation, Membership
from orderreport.accounts.services import invitation_url
from tests.conftest import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_name(settings: Any) -> None:
    settings.SITE_NAME = "Corner Reports"
    settings.BASE_URL = "https://reports.cornershop.example"


@pytest.mark.parametrize(
    ("language", "hello", "thanks"),
    [
        ("en", "Hello from Corner Reports!", "Thank you for using Corner Reports!"),
        ("ru", "Вас приветствует Corner Reports!", "Спасибо, что пользуетесь Corner Reports!"),  # noqa: RUF001
    ],
)
def test_it_names_the_site_in_allauths_mails(
    shop: Shop, language: str, hello: str, thanks: str
) -> None:
    request = RequestFactory().get("/accounts/password/reset/", HTTP_HOST="127.0.0.1:18803")
    with allauth_context.request_context(request), translation.override(language):
        mail = get_adapter(request).render_mail(
            "account/email/password_reset_key",
            shop.user.email,
            {"user": shop.user, "password_reset_url": "https://reports.cornershop.example/r/"},
        )
    assert mail.body.startswith(hello)
    assert f"{thanks}\nreports.cornershop.example" in mail.body
    assert "127.0.0.1" not in mail.body


def test_it_names_the_site_in_invitations(shop: Shop) -> None:
    invitation = Invitation.objects.create(
        account=shop.account,
        email="new@example.com",
        role=Membership.Role.VIEWER,
        invited_by=shop.user,
        expires=timezone.now() + dt.timedelta(days=7),
    )
    context = {
        "invitation": invitation,
        "url": invitation_url(invitation),
        "inviter": shop.user,
        "account": shop.account,
    }
    with translation.override("ru"):
        subject = render_to_string("accounts/email/invitation_subject.txt", context)
        body = render_to_string("accounts/email/invitation_message.txt", context)
    assert subject.strip() == f"Corner Reports: приглашение в {shop.account.name}"
    assert f"приглашает вас в аккаунт Corner Reports «{shop.account.name}»" in body


def test_it_names_the_site_in_the_header_and_title(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert '<a class="brand" href="/">Corner Reports</a>' in html
    assert " · Corner Reports</title>" in html
