"""allauth's pages in the app's frame (issue 13 item 8): every page a visitor or a user reaches
on the way in (log in, sign up, password reset, confirmations, two-factor code) is one card in
the app's layout, and a user's own settings a column of the app's cards; fields are drawn by
templates/allauth/elements/fields.html with their errors under them, in English and Russian."""

from __future__ import annotations

import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from tests.conftest import Shop

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # make_shop's


def assert_app_layout(html: str, layout: str) -> None:
    """The app's header (brand, language switcher) and stylesheets around allauth's content,
    in our layout; none of allauth's stock frame ("Menu:", forms as bare paragraphs)."""
    assert '<header class="topbar">' in html
    assert '<a class="brand" href="/">OrderReport</a>' in html
    assert 'name="language" value="ru"' in html
    assert "css/frame.css" in html
    assert f'<main id="main" class="auth {layout}">' in html
    assert "<strong>Menu:</strong>" not in html
    for field in re.findall(r'<input type="(?:text|email|password)"[^>]*>', html):
        # Every visible input sits in one of our field blocks, right after its label.
        assert re.search(
            r'<div class="field[^"]*">\s*<label for="[^"]+">[^<]+</label>\s*' + re.escape(field),
            html,
        ), field


def logged_in(shop: Shop) -> Client:
    client = Client()
    client.force_login(shop.user)
    return client


def reauthenticated(shop: Shop) -> Client:
    client = Client()
    client.post("/accounts/login/", {"login": shop.user.email, "password": PASSWORD})
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/key/done/",
        "/accounts/confirm-email/",
        "/accounts/inactive/",
    ],
)
def test_it_shows_the_way_in_as_a_card_in_the_app(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert_app_layout(response.content.decode(), "entrance")


def test_it_shows_the_new_password_form_from_the_reset_link_in_the_app(shop: Shop) -> None:
    key = default_token_generator.make_token(shop.user)
    url = f"/accounts/password/reset/key/{user_pk_to_url_str(shop.user)}-{key}/"
    response = Client().get(url, follow=True)
    html = response.content.decode()
    assert 'name="password1"' in html
    assert_app_layout(html, "entrance")


def test_it_shows_the_address_confirmation_in_the_app(shop: Shop) -> None:
    address = EmailAddress.objects.create(user=shop.user, email="new@example.com", verified=False)
    key = EmailConfirmationHMAC(address).key
    response = Client().get(f"/accounts/confirm-email/{key}/")
    html = response.content.decode()
    assert "new@example.com" in html
    assert_app_layout(html, "entrance")


def test_it_asks_for_the_two_factor_code_in_the_app(shop: Shop) -> None:
    TOTP.activate(shop.user, generate_totp_secret())
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": shop.user.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/accounts/2fa/authenticate/"
    assert_app_layout(response.content.decode(), "entrance")


def test_it_asks_for_the_password_again_as_a_card(shop: Shop) -> None:
    response = logged_in(shop).get("/accounts/reauthenticate/")
    assert response.status_code == 200
    assert_app_layout(response.content.decode(), "entrance")


@pytest.mark.parametrize(
    "path",
    ["/accounts/password/change/", "/accounts/email/", "/accounts/2fa/", "/accounts/logout/"],
)
def test_it_shows_the_users_settings_in_the_app(shop: Shop, path: str) -> None:
    response = logged_in(shop).get(path)
    assert response.status_code == 200
    assert_app_layout(response.content.decode(), "manage")


def test_it_shows_set_password_in_the_app(shop: Shop) -> None:
    shop.user.set_unusable_password()
    shop.user.save()
    response = logged_in(shop).get("/accounts/password/set/")
    assert response.status_code == 200
    assert_app_layout(response.content.decode(), "manage")


def test_it_shows_the_two_factor_setup_in_the_app(shop: Shop) -> None:
    client = reauthenticated(shop)
    html = client.get("/accounts/2fa/totp/activate/").content.decode()
    assert client.session["mfa.totp.secret"] in html
    assert_app_layout(html, "manage")

    TOTP.activate(shop.user, generate_totp_secret())
    RecoveryCodes.activate(shop.user)
    for path in [
        "/accounts/2fa/totp/deactivate/",
        "/accounts/2fa/recovery-codes/",
        "/accounts/2fa/recovery-codes/generate/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_app_layout(response.content.decode(), "manage")


def test_it_puts_a_fields_errors_under_it(db: None) -> None:
    response = Client().post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "1234", "password2": "1234"},
    )
    html = response.content.decode()
    block = re.search(
        r'<div class="field invalid">\s*<label for="id_password1">.*?</div>', html, re.S
    )
    assert block, html
    assert '<ul class="errorlist"' in block.group(0)
    assert "too short" in block.group(0)


def test_it_shows_a_forms_own_error_above_the_fields(shop: Shop) -> None:
    response = Client().post("/accounts/login/", {"login": shop.user.email, "password": "nope"})
    html = response.content.decode()
    error = html.index('class="message error form-errors"')
    assert "not correct" in html[error : html.index('<div class="field', error)]


def test_it_speaks_russian_on_the_way_in(client: Client) -> None:
    client.cookies["django_language"] = "ru"
    html = client.get("/accounts/login/").content.decode()
    assert_app_layout(html, "entrance")
    assert '<label for="id_login">Адрес электронной почты</label>' in html
    assert "Запомнить меня" in html


def test_the_way_in_says_log_in_and_sign_up_as_the_header_does() -> None:
    """allauth's "Sign In" / "Sign Up" / "Remember Me" next to the header's "Log in" and
    "Sign up" read like two products: our catalogs give its pages the app's words."""
    login = Client().get("/accounts/login/").content.decode()
    assert re.search(r"<h1[^>]*>\s*Log in\s*</h1>", login), login
    assert "Sign In" not in login and "Remember Me" not in login
    assert "Remember me" in login
    signup = Client().get("/accounts/signup/").content.decode()
    assert re.search(r"<h1[^>]*>\s*Sign up\s*</h1>", signup)
    assert "Sign Up" not in signup
    russian = Client(HTTP_ACCEPT_LANGUAGE="ru").get("/accounts/signup/")
    text = russian.content.decode()
    assert re.search(r"<h1[^>]*>\s*Регистрация\s*</h1>", text), text
    assert "Зарегистрируйтесь" not in text
