"""The outbound HTTP wrapper: the private-address guard, redirects, size cap, User-Agent."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from orderreport.notify import http
from orderreport.notify.models import Delivery
from tests.conftest import Api, Shop
from tests.notify.conftest import Receiver, place_order, run_worker, webhook_channel
from tests.notify.servers import LocalHTTPServer, Request


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    def handle(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path.startswith("/redirect/"):
            return 302, {"Location": request.path.removeprefix("/redirect/")}, b""
        if request.path == "/big":
            return 200, {}, b"x" * 300_000
        return 200, {"Content-Type": "text/plain"}, b"hello"

    srv = LocalHTTPServer(handle)
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _guard_on(settings: Any) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://localhost/",
    ],
)
def test_it_refuses_private_addresses(url: str) -> None:
    with pytest.raises(http.BlockedAddress) as caught:
        http.request("GET", url)
    assert caught.value.permanent


def test_it_refuses_a_host_name_resolving_to_loopback(server: LocalHTTPServer) -> None:
    with pytest.raises(http.BlockedAddress, match=r"127\.0\.0\.1"):
        http.request("GET", f"http://localhost:{server.port}/")
    assert server.requests == []


def test_it_refuses_a_redirect_to_a_private_address(server: LocalHTTPServer, settings: Any) -> None:
    # The first hop is allowed by the operator; where it redirects to is not.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    for target in ("http://169.254.169.254/latest/", "http://10.0.0.1/", "http://[::1]/"):
        with pytest.raises(http.BlockedAddress):
            http.request("GET", f"{server.url}/redirect/{target}")
    assert len(server.requests) == 3  # only the first hops; nothing else was contacted


def test_it_follows_allowed_redirects(server: LocalHTTPServer, settings: Any) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    response = http.request("POST", f"{server.url}/redirect/{server.url}/final", content=b"{}")
    assert response.status_code == 200
    assert response.content == b"hello"
    assert [r.path for r in server.requests][-1] == "/final"
    assert response.redirects == [f"{server.url}/redirect/{server.url}/final"]


def test_it_connects_to_the_checked_address_keeping_the_host_name(
    server: LocalHTTPServer, settings: Any
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = True
    http.request("GET", f"http://localhost:{server.port}/")
    (request,) = server.requests
    assert request.headers["host"] == f"localhost:{server.port}"
    assert request.headers["user-agent"].startswith("OrderReport")


def test_it_caps_the_response_size(server: LocalHTTPServer, settings: Any) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 100_000
    with pytest.raises(http.OutboundError, match="larger than"):
        http.request("GET", f"{server.url}/big")


def test_it_treats_only_public_addresses_as_public() -> None:
    assert http.is_public(ipaddress.ip_address("93.184.216.34"))
    assert http.is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))
    assert not http.is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not http.is_public(ipaddress.ip_address("fc00::1"))
    assert not http.is_public(ipaddress.ip_address("240.0.0.1"))


def test_it_refuses_a_webhook_to_a_private_address(api: Api, shop: Shop, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_HTTP = True
    receiver = Receiver()
    try:
        webhook_channel(shop, receiver.url)
        place_order(api, shop)
        run_worker()
    finally:
        receiver.close()
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "private or reserved address" in delivery.last_error


@pytest.fixture
def tls_server(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[LocalHTTPServer]:
    """An https server on 127.0.0.1 with a certificate for "localhost" from a test CA."""
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    monkeypatch.setattr(http, "_tls_context", lambda: client_context)
    settings.OUTBOUND_ALLOW_PRIVATE = True

    def handle(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path.startswith("/redirect/"):
            return 307, {"Location": request.path.removeprefix("/redirect/")}, b""
        return 200, {}, b"secure"

    srv = LocalHTTPServer(handle)
    srv.httpd.socket = server_context.wrap_socket(srv.httpd.socket, server_side=True)
    yield srv
    srv.close()


def test_it_verifies_tls_for_the_host_name_while_connecting_to_the_checked_address(
    tls_server: LocalHTTPServer,
) -> None:
    response = http.request("GET", f"https://localhost:{tls_server.port}/")
    assert response.content == b"secure"
    # The certificate names localhost, not the address: verification really happens.
    with pytest.raises(http.OutboundError):
        http.request("GET", f"https://127.0.0.1:{tls_server.port}/")


def test_it_refuses_a_redirect_from_https_to_http(
    tls_server: LocalHTTPServer, server: LocalHTTPServer
) -> None:
    with pytest.raises(http.OutboundError, match="https to http") as caught:
        http.request("POST", f"https://localhost:{tls_server.port}/redirect/{server.url}/")
    assert caught.value.permanent
    assert server.requests == []
