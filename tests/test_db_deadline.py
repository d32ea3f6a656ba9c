"""A hung PostgreSQL against a live `orderreport serve`: pages, reads and key lookups end.

The database sits behind a loopback proxy that stops passing anything on the connections it
holds (freeze) and leaves new ones unanswered (hang): a stopped server whose kernel still
acknowledges. Before orderreport/dbdeadline.py a page waited until TCP gave up, which here is
never. Timing assertions only prove that waits are bounded.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from orderreport.orders.models import Order
from orderreport.projects.services import create_server_key
from tests.conftest import Shop
from tests.ingest.tcp_proxy import TcpProxy
from tests.ingest.test_faults_hung import LOG_RECORD
from tests.ingest.test_faults_server import committed, running_server

pytestmark = pytest.mark.postgres

QUERY_SECONDS = 1.0
CONNECT_SECONDS = 2
BOUND = 3 * (QUERY_SECONDS + CONNECT_SECONDS)  # generous: proves an end, not a speed
EXPORT_ORDERS = 20_000  # ten of the export's 2,000-row chunks


def timed_get(url: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = httpx.get(url, timeout=BOUND + 20, **kwargs)
    return response, time.monotonic() - start


@committed
def test_a_hung_database_costs_pages_and_reads_a_bounded_wait_then_they_recover(
    shop: Shop, tmp_path: Path
) -> None:
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    client = Client()
    client.force_login(shop.user)  # a session row the server can read (same SECRET_KEY)
    cookies = {django_settings.SESSION_COOKIE_NAME: client.cookies["sessionid"].value}
    _key, server_key = create_server_key(shop.project, "reads")
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "SECRET_KEY": django_settings.SECRET_KEY,
        "DB_QUERY_TIMEOUT_SECONDS": str(QUERY_SECONDS),
        "DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_SECONDS),
        "DB_CONN_MAX_AGE": "600",
        "REDIS_URL": "",  # every key lookup reads the database
    }
    page = f"/projects/{shop.project.pk}/domains/"
    read = "/api/external/orders"
    headers = {"X-API-KEY": server_key}
    try:
        with running_server(tmp_path, threads=4, **env) as (_server, url, log):
            assert timed_get(url + page, cookies=cookies)[0].status_code == 200
            assert timed_get(url + read, headers=headers)[0].status_code == 200
            proxy.freeze()  # the connections the server holds stop answering
            proxy.hang()  # and new ones are never answered
            for _round in range(2):
                response, seconds = timed_get(url + page, cookies=cookies)
                assert response.status_code == 503, response.text[:500]
                assert response.headers["Retry-After"] == "5"
                assert "Temporarily unavailable" in response.text
                assert seconds < BOUND, seconds
                # The user's language without the database: the switcher's cookie, or the
                # browser's (the saved one needs the user's row).
                russian = {**cookies, django_settings.LANGUAGE_COOKIE_NAME: "ru"}
                response, _seconds = timed_get(url + page, cookies=russian)
                assert response.status_code == 503
                assert "Временно недоступно" in response.text
                response, _seconds = timed_get(
                    url + page, cookies=cookies, headers={"Accept-Language": "ru"}
                )
                assert response.status_code == 503
                assert "Временно недоступно" in response.text
                answer, seconds = timed_get(url + read, headers=headers)
                assert answer.status_code == 503, answer.text[:500]
                assert answer.json()["code"] == "unavailable"
                assert seconds < BOUND, seconds
                healthz, seconds = timed_get(url + "/healthz")
                assert healthz.status_code == 503
                assert seconds < BOUND, seconds
            proxy.freeze(False)
            proxy.hang(False)
            deadline = time.monotonic() + BOUND
            while timed_get(url + page, cookies=cookies)[0].status_code != 200:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
            assert timed_get(url + read, headers=headers)[0].status_code == 200
            time.sleep(0.5)
            records = [line for line in log.read_text().splitlines() if LOG_RECORD.match(line)]
            pages = [line for line in records if "database (PostgreSQL)" in line]
            assert pages, records
            assert len(pages) <= 3, pages  # unavailable once, recovered once; not per request
    finally:
        proxy.close()


@committed
def test_a_database_that_hangs_mid_export_ends_the_download_not_the_thread(
    shop: Shop, tmp_path: Path
) -> None:
    # An export reads with a server-side cursor: its chunks are fetched without an execute()
    # the deadline used to see, and a CSV streams after the middleware has returned. A hang
    # between two chunks held the download (and a web thread) for as long as it lasted.
    received = timezone.now()
    Order.objects.bulk_create(
        Order(project=shop.project, external_id=f"e-{n}", total=100, currency="RUB",
              received_at=received - dt.timedelta(seconds=n))
        for n in range(EXPORT_ORDERS)
    )  # fmt: skip
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    client = Client()
    client.force_login(shop.user)
    cookies = {django_settings.SESSION_COOKIE_NAME: client.cookies["sessionid"].value}
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "SECRET_KEY": django_settings.SECRET_KEY,
        "DB_QUERY_TIMEOUT_SECONDS": str(QUERY_SECONDS),
        "DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_SECONDS),
        "REDIS_URL": "",
    }
    export = f"/projects/{shop.project.pk}/orders/export/?format=csv"
    try:
        with running_server(tmp_path, threads=4, **env) as (_server, url, log):
            whole = httpx.get(url + export, cookies=cookies, timeout=BOUND + 20)
            assert whole.status_code == 200
            assert whole.text.count("\n") == EXPORT_ORDERS + 1  # the header and every order
            body = b""
            start = time.monotonic()
            with (
                pytest.raises(httpx.HTTPError),  # an unfinished download, not a short file
                httpx.stream("GET", url + export, cookies=cookies, timeout=BOUND + 20) as r,
            ):
                # The view's own queries are done; the rows' chunks are still to come
                # (writing them all takes far longer than this freeze does).
                proxy.freeze()
                start = time.monotonic()
                assert r.status_code == 200
                for chunk in r.iter_bytes():
                    body += chunk
            assert time.monotonic() - start < BOUND, log.read_text()[-3000:]
            assert body.count(b"\n") < EXPORT_ORDERS + 1
            proxy.freeze(False)
            deadline = time.monotonic() + BOUND
            while timed_get(url + export, cookies=cookies)[0].status_code != 200:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
    finally:
        proxy.close()
