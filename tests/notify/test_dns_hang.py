"""A name service that never answers costs an outbound request its lookup bound, not the
system resolver's retries (orderreport/notify/http.py, RESOLVE_SECONDS).

The resolver is faked in-process: glibc's resolver reads /etc/resolv.conf, which a test cannot
point at a loopback server of its own. Names under `hang.test` block until the test ends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orderreport.notify import http
from orderreport.notify.models import Channel
from orderreport.orders.models import Order
from tests.conftest import Team
from tests.notify.pictures import fresh_picture_cache
from tests.notify.servers import LocalHTTPServer

HUNG = "hang.test"


class HungDns:
    """Lookups of names under hang.test wait until `answer()` (at the latest, the test's end)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.released = threading.Event()

    def answer(self) -> None:
        self.released.set()


@pytest.fixture
def hung_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[HungDns]:
    dns = HungDns()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(HUNG):
            dns.asked.append(host)
            dns.released.wait(60)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield dns
    dns.answer()


def test_a_guarded_request_gives_up_on_a_lookup_that_never_ends(hung_dns: HungDns) -> None:
    started = time.monotonic()
    with pytest.raises(http.OutboundError, match=r"Could not resolve shop\.hang\.test"):
        http.request("POST", "https://shop.hang.test/hook", content=b"{}", timeout=0.5)
    assert time.monotonic() - started < 3
    assert hung_dns.asked == ["shop.hang.test"]


def test_an_operators_url_is_looked_up_within_the_bound_too(hung_dns: HungDns) -> None:
    # The Telegram API is not guarded (the operator configured it); its name used to be
    # looked up by the socket library, with no bound at all.
    started = time.monotonic()
    with pytest.raises(http.OutboundError, match=r"Could not resolve api\.hang\.test"):
        http.request("GET", "https://api.hang.test/bot1/getMe", guard=False, timeout=0.5)
    assert time.monotonic() - started < 3
    assert hung_dns.asked == ["api.hang.test"]


def test_an_operators_url_still_reaches_its_host(settings: Any) -> None:
    server = LocalHTTPServer(lambda request: (200, {}, b"ok:" + request.path.encode()))
    try:
        response = http.request("GET", f"http://localhost:{server.port}/getMe", guard=False)
    finally:
        server.close()
    assert response.content == b"ok:/getMe"


def test_abandoned_lookups_are_capped_and_the_guard_recovers(
    hung_dns: HungDns, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each abandoned lookup keeps a thread until the system resolver gives up; past the cap,
    # requests fail at once instead of piling up threads.
    monkeypatch.setattr(http, "_LOOKUPS", threading.BoundedSemaphore(2))
    for n in range(2):
        with pytest.raises(http.OutboundError, match="no answer within"):
            http.resolve(f"n{n}.{HUNG}", 443, wait=0.05)
    started = time.monotonic()
    with pytest.raises(http.OutboundError, match="the name service is not answering"):
        http.resolve(f"n2.{HUNG}", 443, wait=5)
    assert time.monotonic() - started < 3
    assert len(hung_dns.asked) == 2  # the third was never asked
    # While every slot is taken, names that would resolve wait their turn in vain too (it is
    # the same name service); once the hung lookups end, the slots are free again.
    with pytest.raises(http.OutboundError, match="not answering"):
        http.resolve("localhost", 443)
    hung_dns.answer()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            addresses = http.resolve("localhost", 443)
            break
        except http.OutboundError:
            time.sleep(0.01)
    assert any(ip.is_loopback for ip in addresses)


def test_saving_a_webhook_is_not_held_up_by_a_hung_lookup(
    client: Client, team: Team, hung_dns: HungDns, settings: Any
) -> None:
    # The guard's check at save time: a name that cannot be looked up now is saved (the
    # guard checks it again at every delivery), after at most the lookup bound.
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.5
    client.force_login(team.owner)
    started = time.monotonic()
    response = client.post(
        reverse("notify:add", args=[team.shop.project.pk, "webhook"]),
        {"name": "CRM", "url": f"https://crm.{HUNG}/hook", "receives_orders": "on"},
    )
    assert time.monotonic() - started < 3
    assert response.status_code == 302, response.content.decode()[:500]
    assert Channel.objects.get().config["url"] == f"https://crm.{HUNG}/hook"
    assert hung_dns.asked == [f"crm.{HUNG}"]


def test_a_picture_on_a_host_whose_name_hangs_shows_the_placeholder(
    client: Client, team: Team, hung_dns: HungDns, settings: Any
) -> None:
    fresh_picture_cache(settings)
    settings.PRODUCT_IMAGE_TIMEOUT_SECONDS = 0.6
    order = Order.objects.create(
        project=team.shop.project,
        external_id="pictured",
        total=100,
        currency="RUB",
        received_at=timezone.now(),
        products=[{"name": "Shoe", "price": 100, "count": 1, "image": f"https://img.{HUNG}/a.png"}],
    )
    client.force_login(team.owner)
    started = time.monotonic()
    response = client.get(f"/projects/{order.project_id}/orders/{order.pk}/products/0/image")
    assert time.monotonic() - started < 3
    assert response.status_code == 404
    assert response["Content-Type"] == "image/svg+xml"
