from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client

from orderreport.accounts.models import User

pytestmark = pytest.mark.django_db
EMAIL = "operator@example.com"
PASSWORD = "operator-password-1"


@pytest.fixture
def operator(settings: Any) -> User:
    settings.MFA_TOTP_TOLERANCE = 1  # a code from the end of a window may arrive in the next
    return User.objects.create_superuser(EMAIL, PASSWORD)


def admin_log_in(client: Client, password: str) -> Any:
    """What a browser does: open /admin/, follow to the login form it is given, submit it."""
    form = client.get("/admin/", follow=True)
    assert form.status_code == 200
    # The admin's form names the e-mail `username`, the app's `login`: send both.
    data = {"username": EMAIL, "login": EMAIL, "password": password}
    return client.post(form.request["PATH_INFO"] + "?" + form.request["QUERY_STRING"], data)


def test_it_sends_the_admin_login_to_the_app_login() -> None:
    response = Client().get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"


def test_it_keeps_a_password_alone_out_of_the_admin_when_totp_is_on(operator: User) -> None:
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)
    client = Client()

    # The admin's own form, posted directly, no longer logs anyone in.
    client.post("/admin/login/?next=/admin/", {"username": EMAIL, "password": PASSWORD})
    assert client.get("/admin/").status_code == 302

    response = admin_log_in(client, PASSWORD)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # not in yet

    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_it_throttles_wrong_passwords_on_the_admin_login(operator: User) -> None:
    # The real limits (5 failures per address in 5 minutes), from a fresh client address.
    client = Client(REMOTE_ADDR="10.20.30.50")
    for _attempt in range(5):
        response = admin_log_in(client, "wrong guess")
        assert response.status_code == 200
        assert "Too many failed login attempts" not in response.content.decode()
    refused = admin_log_in(client, PASSWORD)
    assert "Too many failed login attempts" in refused.content.decode()
    assert client.get("/admin/").status_code == 302


def test_it_refuses_the_admin_to_a_logged_in_user_who_is_not_staff(operator: User) -> None:
    client = Client()
    client.force_login(User.objects.create_user("someone@example.com", PASSWORD))
    assert client.get("/admin/", follow=True).status_code == 403


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))
