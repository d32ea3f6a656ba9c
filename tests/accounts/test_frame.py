"""The frame around every page: landing, navigation, language switch and the CSP."""

from __future__ import annotations

import pytest
from django.test import Client

from orderreport.accounts.models import Membership, User
from orderreport.examples import GUIDE_ORDER
from tests.conftest import Api, Team, csp

pytestmark = pytest.mark.django_db


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_it_shows_a_landing_page_to_visitors() -> None:
    page = Client().get("/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'href="/accounts/signup/"' in body
    assert 'href="/accounts/login/"' in body


def test_it_sends_logged_in_users_to_their_projects(team: Team) -> None:
    response = as_user(team.viewer).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/projects/"


def test_it_links_the_current_accounts_pages_in_the_navigation(team: Team) -> None:
    account = team.shop.account
    body = as_user(team.admin).get(f"/a/{account.pk}/plan/").content.decode()
    assert 'href="/projects/"' in body
    assert f'href="/a/{account.pk}/members/"' in body
    assert f'href="/a/{account.pk}/plan/" aria-current="page"' in body
    assert 'action="/accounts/logout/"' in body
    assert team.admin.email in body


def test_it_names_the_current_account_in_the_header(team: Team) -> None:
    body = as_user(team.viewer).get("/projects/").content.decode()
    name = team.shop.account.name.replace("'", "&#x27;")
    assert f'<summary><span class="sr-only">Account: </span>{name}</summary>' in body
    # The owner's address names the person in their own menu, never the account.
    assert f"Account: </span>{team.owner.email}<" not in body


def test_it_lists_the_users_accounts_to_switch_between(team: Team) -> None:
    # The admin also has an account of their own.
    from orderreport.accounts.services import create_account

    own = create_account(team.admin, "Admin's own shop")
    client = as_user(team.admin)
    body = client.get(f"/a/{team.shop.account.pk}/members/").content.decode()
    assert 'action="/a/switch/"' in body
    assert f'name="account" value="{own.pk}">Admin&#x27;s own shop</button>' in body
    assert f'name="account" value="{team.shop.account.pk}" aria-current="true">' in body
    # The account last visited stays current on pages without one in their address.
    mfa = client.get("/accounts/2fa/").content.decode()
    assert f'href="/a/{team.shop.account.pk}/plan/"' in mfa
    # Accounts of others never appear.
    outsider_account = Membership.objects.get(user=team.outsider).account
    assert f'value="{outsider_account.pk}"' not in body
    assert outsider_account.name.replace("'", "&#x27;") not in body


def test_it_switches_to_russian_and_remembers_it_for_the_user(team: Team) -> None:
    client = as_user(team.viewer)
    response = client.post("/language/", {"language": "ru", "next": "/accounts/2fa/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    page = client.get(f"/a/{team.shop.account.pk}/members/")
    assert page["Content-Language"] == "ru"
    body = page.content.decode()
    assert '<html lang="ru">' in body
    assert "Участники" in body
    assert "Тариф" in body
    assert User.objects.get(pk=team.viewer.pk).language == "ru"

    client.post("/language/", {"language": "en", "next": "/"})
    assert "Members" in client.get(f"/a/{team.shop.account.pk}/members/").content.decode()


def test_it_switches_language_for_visitors_with_a_cookie() -> None:
    client = Client()
    client.post("/language/", {"language": "ru", "next": "/"})
    assert "Все заказы с вашего сайта" in client.get("/").content.decode()  # noqa: RUF001


def test_it_ignores_an_unknown_language(team: Team) -> None:
    client = as_user(team.viewer)
    client.post("/language/", {"language": "xx", "next": "/"})
    assert User.objects.get(pk=team.viewer.pk).language == "en"
    assert client.get("/accounts/2fa/")["Content-Language"] == "en"


def test_it_sends_a_content_security_policy_with_pages(team: Team) -> None:
    for client, path in (
        (Client(), "/"),
        (Client(), "/accounts/login/"),
        (as_user(team.owner), f"/a/{team.shop.account.pk}/members/"),
    ):
        response = client.get(path)
        policy = csp(response)
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], path
        assert policy["img-src"] == ["'self'", "data:"], path


def test_it_sends_no_policy_or_language_headers_with_the_api(team: Team, api: Api) -> None:
    response = api.order(GUIDE_ORDER, team.shop.key.key, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 201
    assert "Content-Security-Policy" not in response
    assert "Content-Language" not in response
    assert response.json()["message"] == "Order tracked"


def test_it_has_no_inline_scripts_or_styles_in_the_frame(team: Team) -> None:
    body = as_user(team.owner).get(f"/a/{team.shop.account.pk}/plan/").content.decode()
    assert "<script>" not in body
    assert "<style" not in body
    assert " style=" not in body
