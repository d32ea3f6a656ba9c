"""Error pages as the app (issue 13 item 8): 404, 403, 400 and 500 in the app's look and the
reader's language, each with the way back home. DEBUG is off in tests, as in production; the
500 page renders with the database down, since that is often why there is a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tests.conftest import Shop, Team

pytestmark = pytest.mark.django_db


def assert_error_page(html: str, title: str) -> None:
    assert '<header class="topbar">' in html
    assert "css/app.css" in html
    assert '<main id="main" class="error-page">' in html
    assert f"<h1>{title}</h1>" in html
    assert '<a class="button" href="/">' in html


def test_it_answers_a_missing_page_as_the_app(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_error_page(response.content.decode(), "Page not found")


def test_it_answers_a_missing_page_in_russian(client: Client) -> None:
    client.cookies["django_language"] = "ru"
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert_error_page(html, "Страница не найдена")
    assert "На главную" in html  # noqa: RUF001


def test_it_keeps_the_users_menu_on_a_missing_page(shop: Shop) -> None:
    client = Client()
    client.force_login(shop.user)
    html = client.get("/no-such-page/").content.decode()
    assert shop.user.email in html  # the user menu, as on every page


def test_it_answers_no_access_as_the_app(team: Team) -> None:
    viewer = Client()
    viewer.force_login(team.viewer)
    response = viewer.get(f"/a/{team.shop.account.pk}/delete/")
    assert response.status_code == 403
    assert_error_page(response.content.decode(), "No access")


def test_it_answers_an_expired_form_as_the_app(client: Client) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert_error_page(response.content.decode(), "The form has expired")


def test_it_answers_a_bad_request_as_the_app(client: Client) -> None:
    response = client.get("/", HTTP_HOST="not-ours.example")
    assert response.status_code == 400
    assert_error_page(response.content.decode(), "Bad request")


def _database_down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("connection refused")


def test_it_shows_the_500_page_with_the_database_down(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(shop.user)
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", _database_down)
        response = client.get("/projects/")
    assert response.status_code == 500
    assert_error_page(response.content.decode(), "Something went wrong")


def test_it_shows_the_500_page_in_the_readers_language(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(raise_request_exception=False)
    client.cookies["django_language"] = "ru"
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", _database_down)
        response = client.get("/healthz")
    assert response.status_code == 500
    assert_error_page(response.content.decode(), "Что-то пошло не так")
