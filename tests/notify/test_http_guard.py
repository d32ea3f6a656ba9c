"""The outbound HTTP wrapper: the private-address guard, redirects, size cap, User-Agent."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

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
        if request.path.startswith(("/301/", "/302/", "/303/", "/307/", "/308/")):
            status, target = request.path[1:].split("/", 1)
            return int(status), {"Location": target}, b""
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


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:c0a8:101::",  # 6to4 of 192.168.1.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
        "::127.0.0.1",  # IPv4-compatible (deprecated)
    ],
)
def test_it_refuses_ipv6_addresses_that_embed_a_private_ipv4(address: str) -> None:
    assert not http.is_public(ipaddress.ip_address(address))
    with pytest.raises(http.BlockedAddress):
        http.request("POST", f"http://[{address}]/", content=b"{}", timeout=0.5)


@pytest.mark.parametrize(
    "address",
    ["2002:5db8:d822::1", "64:ff9b::5db8:d822", "::ffff:93.184.216.34"],
)
def test_it_lets_ipv6_addresses_through_that_embed_a_public_ipv4(address: str) -> None:
    # An IPv6-only server reaches IPv4 receivers through NAT64: their addresses are public.
    assert http.is_public(ipaddress.ip_address(address))


def test_it_refuses_a_host_name_resolving_to_loopback(
    server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="orderreport.notify.http"),
        pytest.raises(http.BlockedAddress) as caught,
    ):
        http.request("GET", f"http://localhost:{server.port}/")
    # The tenant learns nothing about what the name resolves to; the operator does.
    assert str(caught.value) == "Destination not allowed"
    assert "127.0.0.1" not in str(caught.value)
    assert "localhost resolves to 127.0.0.1" in caplog.text
    assert server.requests == []


def test_it_refuses_a_redirect_to_a_private_address(server: LocalHTTPServer, settings: Any) -> None:
    # The first hop is allowed by the operator; where it redirects to is not.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    for target in ("http://169.254.169.254/latest/", "http://10.0.0.1/", "http://[::1]/"):
        with pytest.raises(http.BlockedAddress):
            http.request("GET", f"{server.url}/redirect/{target}")
    assert len(server.requests) == 3  # only the first hops; nothing else was contacted


@pytest.mark.parametrize("status", [307, 308])
def test_it_follows_307_and_308_with_the_same_method_and_body(
    server: LocalHTTPServer, settings: Any, status: int
) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    first = f"{server.url}/{status}/{server.url}/final"
    response = http.request("POST", first, content=b'{"order": 1}')
    assert response.status_code == 200
    assert response.content == b"hello"
    final = server.requests[-1]
    assert (final.method, final.path, final.body) == ("POST", "/final", b'{"order": 1}')
    assert response.redirects == [first]


@pytest.mark.parametrize("status", [301, 302, 303])
def test_it_does_not_turn_a_post_into_a_get_on_a_redirect(
    server: LocalHTTPServer, settings: Any, status: int
) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with pytest.raises(http.OutboundError) as caught:
        http.request("POST", f"{server.url}/{status}/{server.url}/final", content=b"{}")
    assert str(caught.value) == (
        f"Redirected with {status} to {server.url}/final; only 307/308 are followed"
    )
    assert not caught.value.permanent  # retried like any other failed attempt
    assert [r.path for r in server.requests] == [f"/{status}/{server.url}/final"]


def test_it_connects_to_the_checked_address_after_a_redirect(
    server: LocalHTTPServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name that resolves to the allowed address once, then to the metadata service: the
    # redirect's hop is checked, and the connection goes to the address that was checked.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answers = iter(["127.0.0.1", "169.254.169.254", "169.254.169.254"])
    real = socket.getaddrinfo

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            address = next(answers)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    target = f"http://rebind.test:{server.port}/final"
    response = http.request("POST", f"{server.url}/307/{target}", content=b"{}")
    assert response.status_code == 200
    final = server.requests[-1]
    assert final.path == "/final"
    assert final.headers["host"] == f"rebind.test:{server.port}"
    # Asked again (a second redirect to it), the name now leads to a private address.
    with pytest.raises(http.BlockedAddress):
        http.request("POST", f"{server.url}/307/{target}", content=b"{}")


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


@pytest.fixture
def trickling_server() -> Iterator[int]:
    """Answers with one byte of its headers every 0.1 s, for up to 6 s: never a read timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60:
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.close()


def test_it_bounds_the_whole_request_not_each_read(trickling_server: int, settings: Any) -> None:
    # Per-read timeouts alone let a receiver hold a send (and a worker, past its lease) for
    # as long as it likes by trickling bytes; the request as a whole has a deadline.
    settings.OUTBOUND_ALLOW_PRIVATE = True
    started = time.monotonic()
    with pytest.raises(http.OutboundError, match="Timed out"):
        http.request("POST", f"http://127.0.0.1:{trickling_server}/", content=b"{}", timeout=0.5)
    assert time.monotonic() - started < 3


def test_it_treats_only_public_addresses_as_public() -> None:
    assert http.is_public(ipaddress.ip_address("93.184.216.34"))
    assert http.is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))
    assert not http.is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not http.is_public(ipaddress.ip_address("fc00::1"))
    assert not http.is_public(ipaddress.ip_address("240.0.0.1"))


def test_it_refuses_a_webhook_to_a_private_address(
    api: Api, shop: Shop, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.WEBHOOK_ALLOW_HTTP = True
    receiver = Receiver()
    try:
        # Saved before the guard at save time existed, or its name changed address since.
        channel = webhook_channel(shop, f"http://localhost:{receiver.port}/hook")
        place_order(api, shop)
        with caplog.at_level(logging.WARNING, logger="orderreport.notify.http"):
            run_worker()
    finally:
        receiver.close()
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == "Destination not allowed"
    # The owner's delivery log shows no trace of internal name resolution...
    owner = Client()
    owner.force_login(shop.user)
    page = owner.get(reverse("notify:channel", args=[shop.project.pk, channel.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Destination not allowed" in text
    assert "127.0.0.1" not in text
    shop.user.language = "ru"
    shop.user.save()
    page = owner.get(reverse("notify:channel", args=[shop.project.pk, channel.pk]))
    assert "Адрес назначения не разрешён" in page.content.decode()
    # ...the operator's log has it.
    assert "localhost resolves to 127.0.0.1" in caplog.text


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
