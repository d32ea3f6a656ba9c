"""Shared fixtures: real rows in the real database (PostgreSQL or SQLite, by DATABASE_URL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections, connection
from django.db.models.signals import post_migrate
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler
from hypothesis import settings as hypothesis_settings

from orderreport.accounts.models import Account, Plan, User
from orderreport.accounts.services import create_account, get_plan
from orderreport.projects.models import ApiKey, Domain, Event, Project
from orderreport.translations import compile_messages

# CI runs the same examples every time (a red build must be reproducible); a developer's run
# keeps exploring new ones and remembers failures in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")

# The data migration that seeds the plans (a module name Python cannot import by statement).
_PLAN_SEED = import_module("orderreport.accounts.migrations.0002_seed_plans")

compile_messages()  # Russian pages need the compiled catalog, also when pytest runs alone


# Each run gets its own cache namespace, so runs sharing one Redis never see each other's
# cached keys or rate-limit counters. pytest-django has read the settings before this file
# is imported, so they are changed here (no cache is created yet); the environment variable
# carries the prefix to any server process a test starts.
CACHE_KEY_PREFIX = f"test-{os.getpid()}-{secrets.token_hex(4)}"
os.environ["CACHE_KEY_PREFIX"] = CACHE_KEY_PREFIX
django_settings.CACHE_KEY_PREFIX = CACHE_KEY_PREFIX
django_settings.CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX
# Fast password hashing: fixtures create several users per test.
django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages render from the static finders, without a prior collectstatic.
django_settings.STORAGES["staticfiles"]["BACKEND"] = (
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)


def csp(response: Any) -> dict[str, list[str]]:
    """A response's Content-Security-Policy, directive by directive: django-csp writes the
    directives in no fixed order."""
    directives = (d.split() for d in response["Content-Security-Policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    on_sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://...)")
    for item in items:
        if on_sqlite and "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings: Any) -> Iterator[None]:
    """Most tests send many requests from 127.0.0.1; rate-limit tests set their own limits."""
    settings.RATE_LIMIT_IP_PER_SECOND = 1_000_000
    settings.RATE_LIMIT_IP_BURST = 1_000_000
    settings.RATE_LIMIT_KEY_PER_SECOND = 1_000_000
    settings.RATE_LIMIT_KEY_BURST = 1_000_000
    settings.FORM_RATE_PER_MINUTE = 1_000_000
    settings.MAIL_ADDRESS_COOLDOWN_SECONDS = 0
    settings.INVITATION_MAILS_PER_DAY = 1_000_000
    settings.CONFIRMATION_MAILS_PER_DAY = 1_000_000
    yield
    if not settings.REDIS_URL:
        cache.clear()  # local memory only: a shared Redis is never flushed by tests


@dataclass
class Shop:
    """An owner's account with one project, an active domain, API key and event."""

    user: User
    account: Account
    project: Project
    domain: Domain
    key: ApiKey
    event: Event

    @property
    def origin(self) -> str:
        return f"https://{self.domain.host}"


def make_shop(email: str | None = None, domain: str = "example.com", plan: str = "free") -> Shop:
    email = email or f"owner-{secrets.token_hex(4)}@example.com"
    user = User.objects.create_user(email, "correct horse battery staple")
    account = create_account(user, f"{email}'s account", plan=get_plan(plan))
    project = Project.objects.create(account=account, name="Shop")
    return Shop(
        user=user,
        account=account,
        project=project,
        domain=Domain.objects.create(project=project, host=domain),
        key=ApiKey.objects.create(project=project, name="Site"),
        event=Event.objects.create(project=project, name="Call-back"),
    )


@pytest.fixture
def shop(db: None) -> Shop:
    return make_shop()


@pytest.fixture
def other_shop(db: None) -> Shop:
    """A second tenant, for isolation tests."""
    return make_shop(domain="other.example")


class ProductionApiHandler(ClientHandler):
    """Django's test handler, except that the tracking and form endpoints go through the plain
    WSGI application that serves them in production (orderreport/ingest/wsgi.py)."""

    def __call__(self, environ: dict[str, Any]) -> HttpResponse:
        from orderreport.ingest import wsgi as tracking_wsgi

        if tracking_wsgi.endpoint(environ["PATH_INFO"]) is None:
            return super().__call__(environ)
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> None:
            seen["status"], seen["headers"] = int(status.split()[0]), headers

        # As Django's test handler does: the test's transaction keeps its connection open.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            content = b"".join(tracking_wsgi.application(environ, start_response))
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        response = HttpResponse(content, status=seen["status"])
        del response["Content-Type"]
        for name, value in seen["headers"]:
            response[name] = value
        response.wsgi_request = WSGIRequest(environ)  # type: ignore[attr-defined]
        return response


class ApiClient(Client):
    """The test client, with the tracking endpoints served as production serves them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handler = ProductionApiHandler(self.handler.enforce_csrf_checks)


@pytest.fixture
def client() -> Client:
    return ApiClient()


class Api:
    """Posts to the tracking API like a shop's page or server would."""

    def __init__(self, client: Client) -> None:
        if not isinstance(client.handler, ProductionApiHandler):
            client.handler = ProductionApiHandler(client.handler.enforce_csrf_checks)
        self.client = client

    def post(
        self,
        path: str,
        body: Any,
        key: str | None,
        origin: str | None = "https://example.com",
        **headers: str,
    ) -> Any:
        if not isinstance(body, str | bytes):
            import json

            body = json.dumps(body)
        extra: dict[str, str] = {}
        if key is not None:
            extra["HTTP_X_API_KEY"] = key
        if origin is not None:
            extra["HTTP_ORIGIN"] = origin
        extra.update(headers)
        return self.client.generic("POST", path, body, content_type="application/json", **extra)

    def order(self, body: Any, key: str | None, **kwargs: Any) -> Any:
        return self.post("/api/orders/track", body, key, **kwargs)

    def event(self, body: Any, key: str | None, **kwargs: Any) -> Any:
        return self.post("/api/events/track", body, key, **kwargs)


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


@dataclass
class Team:
    """One account seen by its owner, an admin, a viewer, and an outsider (another tenant)."""

    shop: Shop
    owner: User
    admin: User
    viewer: User
    outsider: User


@pytest.fixture
def team(db: None) -> Team:
    from orderreport.accounts.models import Membership

    shop = make_shop()
    admin = User.objects.create_user(f"admin-{secrets.token_hex(3)}@example.com", "pw-admin-123")
    viewer = User.objects.create_user(f"viewer-{secrets.token_hex(3)}@example.com", "pw-view-123")
    Membership.objects.create(account=shop.account, user=admin, role=Membership.Role.ADMIN)
    Membership.objects.create(account=shop.account, user=viewer, role=Membership.Role.VIEWER)
    outsider = make_shop(domain="outsider.example").user
    return Team(shop=shop, owner=shop.user, admin=admin, viewer=viewer, outsider=outsider)


class ProductionEntryPoint:
    """The live server's application: the tracking endpoints go through the plain WSGI
    application production serves them with (orderreport/ingest/wsgi.py), the rest to the
    live server's own Django handler."""

    # Called with each request's environ (tests watching what the server receives).
    observers: list[Callable[[dict[str, Any]], None]] = []

    def __init__(self, django: Any) -> None:
        self.django = django

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from orderreport.ingest import wsgi as tracking_wsgi

        for observe in self.observers:
            observe(environ)

        if tracking_wsgi.endpoint(environ.get("PATH_INFO", "")) is not None:
            return tracking_wsgi.application(environ, start_response)
        return self.django(environ, start_response)


@pytest.fixture(scope="session", autouse=True)
def _live_server_like_production() -> Iterator[None]:
    """Browser, race and outbox tests against `live_server` reach the API as shops do.

    Django's live server builds its handler as static(media(WSGIHandler())), and the media
    handler answers every path itself when MEDIA_URL is empty; the dispatch goes around it.
    """
    from django.test import testcases

    media = testcases._MediaFilesHandler
    testcases._MediaFilesHandler = lambda app: ProductionEntryPoint(media(app))  # type: ignore[misc,assignment]
    yield
    testcases._MediaFilesHandler = media  # type: ignore[misc]


def seed_plans() -> None:
    """Put back the plans orderreport/accounts/migrations/0002_seed_plans.py seeds."""
    from django.apps import apps

    _PLAN_SEED.seed(apps, None)


# A transactional test ends with a flush, which also empties the seeded plans. Django sends
# post_migrate after that flush (unless the test restores a serialized copy instead), so the
# next test finds the plans again.
post_migrate.connect(
    lambda sender, **kwargs: seed_plans() if sender.label == "accounts" else None,
    weak=False,
    dispatch_uid="tests-reseed-plans",
)


@pytest.fixture(scope="session", autouse=True)
def _seeded_plans(django_db_setup: Any, django_db_blocker: Any) -> None:
    """`--reuse-db` keeps the database the last run left, and a transactional test may have
    left it flushed: the plans come back, also into the copy serialized rollbacks restore."""
    if connection.settings_dict["NAME"] != connection.creation._get_test_db_name():
        return  # no selected test uses the database: pytest-django set none up
    with django_db_blocker.unblock():
        missing = {name for name, _title, _limit in _PLAN_SEED.PLANS} - set(
            Plan.objects.values_list("name", flat=True)
        )
        if missing:
            seed_plans()
            if hasattr(connection, "_test_serialized_contents"):
                connection._test_serialized_contents = connection.creation.serialize_db_to_string()


@pytest.fixture(scope="session", autouse=True)
def _stop_writers(django_db_setup: Any) -> Iterator[None]:
    """Close the batch writers' own database connections before the test database goes."""
    yield
    from orderreport.ingest.writer import stop_writers

    stop_writers()
