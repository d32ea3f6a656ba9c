from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from orderreport.accounts.models import Account, Membership, User
from tests.mail import sent_mail

pytestmark = pytest.mark.django_db
PASSWORD = "a long and unusual passphrase 42"


def sign_up(client: Client, email: str, **extra: str) -> object:
    data = {
        "email": email,
        "account_name": "Corner Shop",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **extra,
    }
    return client.post("/accounts/signup/", data)


def confirmation_link(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_it_signs_up_confirms_the_email_and_creates_an_account_on_the_default_plan(
    client: Client, settings: object
) -> None:
    response = sign_up(client, "New.Owner@Example.com")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"

    # Not in yet: the address must be confirmed first.
    assert client.get("/accounts/2fa/").status_code == 302
    assert len(sent_mail()) == 1
    message = sent_mail()[0]
    assert message.to == ["new.owner@example.com"]

    link = confirmation_link(message)
    page = client.get(link)
    assert page.status_code == 200
    assert "new.owner@example.com" in page.content.decode()
    confirmed = client.post(link)
    assert confirmed.status_code == 302

    user = User.objects.get(email="new.owner@example.com")
    account = Account.objects.get(owner=user)
    assert account.plan.name == "free"
    assert account.name == "Corner Shop"
    assert Membership.objects.get(user=user).role == Membership.Role.OWNER
    # Logged in on confirmation, and sent to the projects.
    assert confirmed["Location"] == "/projects/"
    assert client.get(f"/a/{account.pk}/plan/").status_code == 200


def test_it_refuses_login_until_the_email_is_confirmed(client: Client) -> None:
    sign_up(client, "later@example.com")
    other = Client()
    response = other.post("/accounts/login/", {"login": "later@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert other.get("/accounts/2fa/").status_code == 302  # still anonymous


def test_it_does_not_reveal_a_taken_address_but_mails_its_owner(client: Client, shop) -> None:  # type: ignore[no-untyped-def]
    response = sign_up(client, shop.user.email)
    # Same answer as for a new address, so sign-up cannot be used to probe for customers.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.filter(email=shop.user.email).count() == 1
    assert Account.objects.filter(owner=shop.user).count() == 1
    assert [m.to for m in sent_mail()] == [[shop.user.email]]
    assert "already" in sent_mail()[0].body


def test_it_explains_mismatched_passwords(client: Client) -> None:
    response = sign_up(client, "typo@example.com", password2="something else entirely")
    assert response.status_code == 200
    assert "same password" in response.content.decode()
    assert not User.objects.filter(email="typo@example.com").exists()
    assert not Account.objects.exists()


def test_it_signs_up_in_russian_and_remembers_the_language(client: Client) -> None:
    client.post("/language/", {"language": "ru", "next": "/"})
    page = client.get("/accounts/signup/")
    assert "Регистрация" in page.content.decode()
    sign_up(client, "ivan@example.com")
    assert User.objects.get(email="ivan@example.com").language == "ru"


def test_it_refuses_a_short_or_common_password(client: Client) -> None:
    short = sign_up(client, "weak@example.com", password1="qwerty", password2="qwerty")
    body = short.content.decode()
    assert short.status_code == 200
    assert "at least 10 characters" in body
    assert "too common" in body
    assert 'value="weak@example.com"' in body
    assert not User.objects.filter(email="weak@example.com").exists()


def test_it_asks_for_the_shop_or_company_name(client: Client) -> None:
    page = client.get("/accounts/signup/").content.decode()
    assert "Shop or company name" in page
    assert 'name="account_name"' in page
    # Typed with the spaces a paste brings: stored trimmed, and shown in the header.
    sign_up(client, "trim@example.com", account_name="  Lavka & Sons  ")
    account = Account.objects.get(owner__email="trim@example.com")
    assert account.name == "Lavka & Sons"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Enter the name of your shop or company."),
        ("   ", "Enter the name of your shop or company."),
        ("x" * 101, "Shorten the name to 100 characters (it has 101)."),
        ("Two\nlines", "The name cannot contain line breaks, tabs or other control characters."),
    ],
)
def test_it_explains_a_missing_or_bad_name_and_keeps_the_rest(
    client: Client, name: str, error: str
) -> None:
    response = sign_up(client, "named@example.com", account_name=name)
    body = response.content.decode()
    assert response.status_code == 200
    assert error in body
    assert 'value="named@example.com"' in body
    assert not User.objects.filter(email="named@example.com").exists()
    assert not Account.objects.exists()


def test_it_explains_the_name_in_russian(client: Client) -> None:
    client.post("/language/", {"language": "ru", "next": "/"})
    assert "Название магазина или компании" in client.get("/accounts/signup/").content.decode()
    response = sign_up(client, "ivan@example.com", account_name="")
    assert "Введите название магазина или компании." in response.content.decode()
