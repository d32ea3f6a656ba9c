"""An https BASE_URL: Secure cookies, HSTS, the http redirect, and headers on secret pages and
static files."""

from __future__ import annotations

import contextlib
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.test import Client

from orderreport.checks import check_settings
from orderreport.projects.services import create_server_key
from tests.conftest import Shop
from tests.ingest.test_faults_server import running_server
from tests.notify.conftest import webhook_channel

YEAR = 365 * 24 * 3600


def derived(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """settings.py run afresh with this environment."""
    for name in (
        "BASE_URL",
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "settings-test-" + "x" * 40)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(django_settings.BASE_DIR / "settings.py"))


def test_an_https_base_url_turns_on_hsts_redirects_and_secure_cookies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = derived(monkeypatch, BASE_URL="https://orders.example.net")
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] == YEAR
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["LANGUAGE_COOKIE_SECURE"]
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert "SECURE_PROXY_SSL_HEADER" not in s  # trusting X-Forwarded-Proto is the operator's call


def test_a_plain_http_base_url_turns_them_off(monkeypatch: pytest.MonkeyPatch) -> None:
    s = derived(monkeypatch, BASE_URL="http://127.0.0.1:8000")
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert not (s["SESSION_COOKIE_SECURE"] or s["CSRF_COOKIE_SECURE"])


def test_the_operator_can_leave_redirects_to_the_proxy_and_tune_hsts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = derived(
        monkeypatch,
        BASE_URL="https://orders.example.net",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_PROXY_SSL_HEADER="true",
    )
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_HSTS_SECONDS"] == 600
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def https_settings(settings: Any, proxy_header: bool = True) -> None:
    settings.DEBUG = False
    settings.HTTPS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = YEAR
    if proxy_header:
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    elif hasattr(settings, "SECURE_PROXY_SSL_HEADER"):
        del settings.SECURE_PROXY_SSL_HEADER


def check_ids() -> set[str]:
    return {problem.id for problem in check_settings() if problem.id}


def test_start_up_refuses_a_redirect_loop_behind_a_proxy(settings: Any) -> None:
    https_settings(settings, proxy_header=False)
    assert "orderreport.E003" in check_ids()
    settings.SECURE_SSL_REDIRECT = False  # the proxy redirects: HSTS still needs the header
    assert "orderreport.E003" not in check_ids()
    assert "orderreport.W003" in check_ids()
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert not check_ids() & {"orderreport.E003", "orderreport.W003"}


@pytest.mark.django_db
def test_it_redirects_plain_http_and_sends_hsts_over_https(settings: Any) -> None:
    https_settings(settings)
    client = Client()  # its middleware is built from the settings at its first request
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    secure = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == f"max-age={YEAR}"
    assert secure["X-Content-Type-Options"] == "nosniff"
    # Load balancers check health over plain http.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_pages_that_show_keys_or_secrets_are_never_stored(client: Client, shop: Shop) -> None:
    client.force_login(shop.user)
    p = shop.project.pk
    server_key, _raw = create_server_key(shop.project, "Backend")
    channel = webhook_channel(shop, "https://crm.example.com/hook")
    pages = [
        ("get", f"/projects/{p}/keys/"),
        ("post", f"/projects/{p}/keys/server/"),
        ("post", f"/projects/{p}/keys/{server_key.pk}/rotate/"),
        ("get", f"/projects/{p}/integration/"),
        ("post", f"/projects/{p}/integration/server-key/"),
        ("get", f"/projects/{p}/events/{shop.event.pk}/form/"),
        ("get", f"/projects/{p}/events/{shop.event.pk}/form/rotate/"),
        ("post", f"/projects/{p}/events/{shop.event.pk}/form/rotate/"),
        ("get", f"/projects/{p}/notifications/add/telegram/"),
        ("get", f"/projects/{p}/notifications/{channel.pk}/"),
    ]
    for method, address in pages:
        response = getattr(client, method)(address, {"name": "Backend"} if method == "post" else {})
        assert response.status_code in (200, 302), (method, address, response.status_code)
        assert "no-store" in response.get("Cache-Control", ""), (method, address)
    # The pages without secrets stay as they were.
    assert "no-store" not in client.get(f"/projects/{p}/orders/").get("Cache-Control", "")


@contextlib.contextmanager
def https_server(tmp_path: Path) -> Iterator[str]:
    """`orderreport serve` as production runs it, behind a TLS proxy it trusts."""
    with running_server(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",  # /healthz needs no tables
        REDIS_URL="",
        BASE_URL="https://orders.example.net",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_PROXY_SSL_HEADER="true",
        STATIC_HASHED="true",  # as production: hashed names from the manifest
        SECRET_KEY="https-tests-only-" + "x" * 40,
        # Production does not start without the key of channel secrets (check notify.E003).
        SECRETS_KEYS=Fernet.generate_key().decode(),
        DEBUG="false",
        RATE_LIMITS_ENABLED="true",
    ) as (_server, url, _log):
        yield url


def test_the_production_server_sends_static_files_with_nosniff_and_hsts(tmp_path: Path) -> None:
    with https_server(tmp_path) as url:
        css = httpx.get(f"{url}/static/css/app.css", headers={"X-Forwarded-Proto": "https"})
        assert css.status_code == 200
        assert css.headers["X-Content-Type-Options"] == "nosniff"
        assert css.headers["Strict-Transport-Security"] == f"max-age={YEAR}"
        assert css.headers["Content-Type"].startswith("text/css")
        plain = httpx.get(f"{url}/static/css/app.css")
        assert plain.status_code == 301
        assert plain.headers["Location"] == url.replace("http:", "https:") + "/static/css/app.css"
        api = httpx.post(f"{url}/api/orders/track", content=b"{}")
        assert api.headers["X-Content-Type-Options"] == "nosniff"
