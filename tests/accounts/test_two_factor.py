from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client

from tests.conftest import Shop, csp

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _one_window_of_drift(settings: Any) -> None:
    """A code computed at the very end of a 30 s window may arrive in the next one."""
    settings.MFA_TOTP_TOLERANCE = 1


def totp_code(secret: str) -> str:
    """What an authenticator app shows now (allauth's own RFC 6238 helpers)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_in(client: Client, shop: Shop) -> None:
    client.post("/accounts/login/", {"login": shop.user.email, "password": PASSWORD})


def reauthenticate(client: Client) -> None:
    """Security settings ask for the password again, even right after logging in."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302


def activate_totp(client: Client) -> str:
    reauthenticate(client)
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert secret in page.content.decode()  # shown for typing in by hand, next to the QR code
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    return secret


def test_it_sets_up_totp_from_the_security_page(shop: Shop) -> None:
    client = Client()
    log_in(client, shop)
    assert "Authenticator App" in client.get("/accounts/2fa/").content.decode()
    activate_totp(client)
    assert Authenticator.objects.filter(user=shop.user, type="totp").exists()


def test_it_asks_for_a_code_at_login_once_totp_is_on(shop: Shop) -> None:
    # Activated directly: a code is good only once, and the activation would spend this
    # window's code.
    secret = generate_totp_secret()
    TOTP.activate(shop.user, secret)

    client = Client()
    response = client.post("/accounts/login/", {"login": shop.user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get(f"/a/{shop.account.pk}/plan/").status_code == 302  # not in yet

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()

    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert done.status_code == 302
    assert done["Location"] == "/projects/"
    assert client.get(f"/a/{shop.account.pk}/plan/").status_code == 200


def test_it_refuses_a_wrong_code_when_activating(shop: Shop) -> None:
    client = Client()
    log_in(client, shop)
    reauthenticate(client)
    client.get("/accounts/2fa/totp/activate/")
    response = client.post("/accounts/2fa/totp/activate/", {"code": "123456x"})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not Authenticator.objects.filter(user=shop.user).exists()


def test_it_shows_the_qr_code_under_the_content_security_policy(shop: Shop) -> None:
    client = Client()
    log_in(client, shop)
    reauthenticate(client)
    page = client.get("/accounts/2fa/totp/activate/")
    assert 'src="data:image/svg+xml' in page.content.decode()
    assert csp(page)["img-src"] == ["'self'", "data:"]
