"""The dashboard with Redis dead or hung: log-in and saves go on without the cache.

Before orderreport/cache.py, django-allauth's log-in rate limit (cache.add) and the cache
deletes after a save raised from Django's RedisCache: 500 for as long as Redis was out. The
tracking API had its own fallbacks (tests/ingest/test_faults*.py); these are the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from orderreport.ingest.lookup import get_key_info
from orderreport.outage import cache_outage
from orderreport.projects.models import Domain
from tests.conftest import CACHE_KEY_PREFIX, Shop
from tests.ingest.tcp_proxy import TcpProxy
from tests.ingest.test_faults_server import free_port

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # make_shop's


def point_cache_at(settings: Any, port: int) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "orderreport.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.fixture(autouse=True)
def _fresh_outage() -> Iterator[None]:
    cache_outage.forget()
    yield
    cache_outage.forget()


@pytest.fixture
def dead_redis(settings: Any) -> None:
    point_cache_at(settings, free_port())


@pytest.fixture
def hung_redis(settings: Any) -> Iterator[TcpProxy]:
    proxy = TcpProxy(("127.0.0.1", free_port()))
    proxy.hang()
    point_cache_at(settings, proxy.port)
    yield proxy
    proxy.close()


def log_in(client: Client, shop: Shop) -> Any:
    return client.post("/accounts/login/", {"login": shop.user.email, "password": PASSWORD})


def cache_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "orderreport.cache" and r.levelno >= logging.ERROR
    ]


@pytest.mark.parametrize("redis", ["dead_redis", "hung_redis"])
def test_an_owner_logs_in_and_saves_while_redis_is_out_and_the_outage_is_logged_once(
    shop: Shop, redis: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    request.getfixturevalue(redis)
    client = Client()
    response = log_in(client, shop)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/projects/"
    assert client.get(f"/projects/{shop.project.pk}/domains/").status_code == 200
    # Switching a domain off deletes the project's cached key entries (ingest/signals.py).
    saved = client.post(
        f"/projects/{shop.project.pk}/domains/{shop.domain.pk}/active/", {"active": "0"}
    )
    assert saved.status_code == 302
    assert not Domain.objects.get(pk=shop.domain.pk).is_active
    errors = cache_errors(caplog)
    assert len(errors) == 1, errors
    assert "cache (Redis) unavailable" in errors[0]


def test_failed_log_ins_are_still_limited_once_redis_is_back(shop: Shop) -> None:
    """The fallback is for outages only: with Redis answering, the limit holds as before."""
    client = Client(REMOTE_ADDR="10.20.30.50")
    for _attempt in range(5):
        client.post("/accounts/login/", {"login": shop.user.email, "password": "wrong"})
    blocked = client.post("/accounts/login/", {"login": shop.user.email, "password": "wrong"})
    assert "Too many failed login attempts" in blocked.content.decode()


@pytest.mark.postgres  # needs the machine's Redis behind the proxy
def test_a_key_switched_off_during_an_outage_is_not_served_from_redis_afterwards(
    shop: Shop, settings: Any
) -> None:
    """A network cut leaves Redis's entries in place: the delete that could not reach it is
    done by the first call that does, so the switched-off key is not accepted from the stale
    entry for the rest of its five minutes."""
    real = urlsplit(django_settings.REDIS_URL)
    proxy = TcpProxy((real.hostname or "127.0.0.1", real.port or 6379))
    try:
        point_cache_at(settings, proxy.port)
        assert get_key_info(shop.key.key) is not None  # cached now, in the real Redis
        proxy.hang()
        for pool in cache._cache._pools.values():  # type: ignore[attr-defined]
            pool.disconnect()  # the open connection goes too: a cut, not only new ones hung
        shop.key.is_active = False
        shop.key.save()  # its cache delete cannot reach Redis: remembered
        proxy.hang(False)
        cache_outage.forget()  # as after the outage's one-second pause
        assert cache.get("anything") is None  # the first call that reaches Redis again
        assert get_key_info(shop.key.key) is None
    finally:
        proxy.close()
