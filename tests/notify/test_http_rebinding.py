"""DNS rebinding: the outbound guard connects to the address it checked, never to what the
name resolves to a moment later (orderreport/notify/http.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest

from orderreport.notify import http
from tests.notify.servers import LocalHTTPServer, Request

PUBLIC = "93.184.215.14"  # a public address; nothing here ever connects to it
NAME = "rebind.test"


@pytest.fixture(autouse=True)
def _guard_on(settings: Any) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.fixture
def loopback() -> Iterator[LocalHTTPServer]:
    """What a rebinding attacker wants to reach: a service on 127.0.0.1."""

    def handle(request: Request) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b"internal secrets"

    server = LocalHTTPServer(handle)
    yield server
    server.close()


def rebinding_dns(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Answer NAME with `answers` in turn (the last one repeats), for the guard and for any
    connection made by name; returns the answers given."""
    given: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(given), len(answers) - 1)]
        given.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Where the guard's connections go. The public address is refused here (no internet in
    tests); anything else really connects."""
    seen: list[str] = []
    real = http._DeadlineBackend.connect_tcp

    def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        if host == PUBLIC:
            raise httpcore.ConnectError("test: the public address is not reachable from here")
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(http._DeadlineBackend, "connect_tcp", connect_tcp)
    return seen


def test_it_connects_to_the_public_address_it_checked_not_to_the_rebound_loopback(
    loopback: LocalHTTPServer, connects: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first answer (checked) is public; every later one, as a second lookup by the HTTP
    # client would get, is loopback.
    given = rebinding_dns(monkeypatch, PUBLIC, "127.0.0.1")
    with pytest.raises(http.OutboundError, match=r"Could not connect to rebind\.test"):
        http.request("POST", f"http://{NAME}:{loopback.port}/hook", content=b"{}")
    assert connects == [PUBLIC]
    assert given == [PUBLIC]  # resolved once: the connection did not ask again
    assert loopback.requests == []


def test_it_refuses_the_name_once_it_resolves_to_loopback(
    loopback: LocalHTTPServer, connects: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rebinding_dns(monkeypatch, PUBLIC, "127.0.0.1")
    with pytest.raises(http.OutboundError):
        http.request("POST", f"http://{NAME}:{loopback.port}/hook", content=b"{}")
    with pytest.raises(http.BlockedAddress):
        http.request("POST", f"http://{NAME}:{loopback.port}/hook", content=b"{}")
    assert connects == [PUBLIC]
    assert loopback.requests == []


def test_it_delivers_to_the_checked_address_while_the_name_rebinds(
    loopback: LocalHTTPServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # End to end on real sockets: 127.0.0.2 stands in for the public address (the operator
    # allows it), a server listens there on the loopback service's port.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    stand_in = LocalHTTPServer(lambda request: (200, {}, b"public"), loopback.port, "127.0.0.2")
    try:
        rebinding_dns(monkeypatch, "127.0.0.2", "127.0.0.1")
        response = http.request("POST", f"http://{NAME}:{loopback.port}/hook", content=b"{}")
        assert response.content == b"public"
        (request,) = stand_in.requests
        assert request.headers["host"] == f"{NAME}:{loopback.port}"
        with pytest.raises(http.BlockedAddress):
            http.request("POST", f"http://{NAME}:{loopback.port}/hook", content=b"{}")
        assert loopback.requests == []
    finally:
        stand_in.close()
