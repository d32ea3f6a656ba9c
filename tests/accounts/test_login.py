from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Shop

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # make_shop's


def log_in(client: Client, email: str, password: str) -> object:
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_it_logs_in_by_email_and_lands_on_the_projects(shop: Shop) -> None:
    client = Client()
    response = log_in(client, shop.user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert client.get("/").headers["Location"] == "/projects/"


def test_it_says_what_is_wrong_with_a_bad_password(shop: Shop) -> None:
    response = log_in(Client(), shop.user.email, "not the password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_it_rate_limits_failed_logins_per_address(shop: Shop) -> None:
    # A fresh client address, so other tests' failed logins from 127.0.0.1 do not count.
    client = Client(REMOTE_ADDR="10.20.30.40")
    for _attempt in range(5):
        response = log_in(client, shop.user.email, "wrong guess")
        assert "Too many failed login attempts" not in response.content.decode()
    blocked = log_in(client, shop.user.email, "wrong guess")
    assert "Too many failed login attempts" in blocked.content.decode()
    # Even the right password is refused now, from another address too.
    refused = log_in(Client(REMOTE_ADDR="10.20.30.41"), shop.user.email, PASSWORD)
    assert refused.status_code != 302
    assert "Too many failed login attempts" in refused.content.decode()


def test_it_logs_out_with_a_post(shop: Shop) -> None:
    client = Client()
    client.force_login(shop.user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # the landing page again


def test_it_speaks_the_users_saved_language_after_login(shop: Shop) -> None:
    shop.user.language = "ru"
    shop.user.save()
    client = Client()
    log_in(client, shop.user.email, PASSWORD)
    page = client.get(f"/a/{shop.account.pk}/plan/")
    assert page["Content-Language"] == "ru"
    assert "Тариф и использование" in page.content.decode()


def test_it_keeps_a_language_picked_on_the_login_page(shop: Shop) -> None:
    client = Client()
    client.post("/language/", {"language": "ru", "next": "/accounts/login/"})
    log_in(client, shop.user.email, PASSWORD)
    shop.user.refresh_from_db()
    assert shop.user.language == "ru"
    assert client.get(f"/a/{shop.account.pk}/plan/")["Content-Language"] == "ru"
