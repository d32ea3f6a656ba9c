"""The one way OrderReport makes outbound HTTP requests.

One place for timeouts, the response size cap, the User-Agent, and the guard that keeps
user-given URLs away from private networks. The guard resolves the host name itself, checks
every address, then connects to the address it checked (the Host header and TLS server name
keep the original name), so a DNS answer that changes between check and connect (DNS
rebinding) cannot slip through. Redirects are followed here, hop by hop, each one checked.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import certifi
import httpx
import orjson
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_REDIRECTS = 5


class OutboundError(Exception):
    """A request that did not produce a response; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class BlockedAddress(OutboundError):
    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str
    redirects: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return orjson.loads(self.content)


def user_agent() -> str:
    return f"OrderReport-Notify/1.0 (+{settings.BASE_URL})"


@cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~30 ms; building it once per process keeps a send cheap.
    return ssl.create_default_context(cafile=certifi.where())


@cache
def _allowed_networks(spec: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in spec)


def is_public(ip: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified addresses."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def address_allowed(ip: IPAddress) -> bool:
    if settings.OUTBOUND_ALLOW_PRIVATE or is_public(ip):
        return True
    return any(ip in net for net in _allowed_networks(tuple(settings.OUTBOUND_ALLOWED_NETWORKS)))


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of `host`; an IP literal resolves to itself."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"Could not resolve {host}: {exc}") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def _checked_address(url: str) -> tuple[str, IPAddress]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(
            f"Not an http(s) URL: {parts.scheme}://{parts.hostname}", permanent=True
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise OutboundError(f"{parts.hostname} has no address")
    # Every address must pass, not just the first: the connection could go to any of them.
    for ip in addresses:
        if not address_allowed(ip):
            raise BlockedAddress(
                f"{parts.hostname} resolves to {ip}, a private or reserved address; "
                "requests to it are not allowed"
            )
    return parts.hostname, addresses[0]


def _pinned(url: str, ip: IPAddress) -> str:
    parts = urlsplit(url)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def request(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    guard: bool = True,
    follow_redirects: bool = True,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> Response:
    """Send one request and read its (capped) response.

    `guard=False` is for URLs the operator configured (the Telegram API base), never for URLs
    a user typed. Raises OutboundError when no response could be had.
    """
    timeout = timeout or settings.OUTBOUND_TIMEOUT_SECONDS
    max_bytes = max_bytes or settings.OUTBOUND_MAX_RESPONSE_BYTES
    deadline = time.monotonic() + timeout * 3
    redirects: list[str] = []
    base_headers = {"User-Agent": user_agent(), **(headers or {})}
    # A client per call, never a shared pool: connections are keyed by the pinned address,
    # and one opened for a host name must not carry another host's request.
    with httpx.Client(
        verify=_tls_context(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would bypass the address guard
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            send_headers = dict(base_headers)
            extensions: dict[str, Any] = {}
            target = url
            if guard:
                host, ip = _checked_address(url)
                target = _pinned(url, ip)
                netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
                send_headers["Host"] = netloc
                extensions["sni_hostname"] = host
            try:
                req = client.build_request(
                    method, target, content=content, headers=send_headers, extensions=extensions
                )
                response = client.send(req, stream=True)
            except httpx.TimeoutException:
                raise OutboundError(f"Timed out talking to {urlsplit(url).hostname}") from None
            except httpx.HTTPError as exc:
                raise OutboundError(
                    f"Could not connect to {urlsplit(url).hostname}: {type(exc).__name__}"
                    + (f" ({exc})" if str(exc) else "")
                ) from None
            try:
                location = response.headers.get("location")
                if follow_redirects and response.is_redirect and location:
                    redirects.append(url)
                    target_url = urljoin(url, location)
                    if url.startswith("https://") and not target_url.startswith("https://"):
                        # The body (a signed order) must not continue in clear text.
                        raise OutboundError(
                            "Refusing to follow a redirect from https to http", permanent=True
                        )
                    url = target_url
                    if response.status_code in (301, 302, 303) and method != "HEAD":
                        method, content = "GET", None
                    continue
                body = _read_capped(response, max_bytes, deadline)
            finally:
                response.close()
            return Response(response.status_code, response.headers, body, url, redirects)
    raise OutboundError(f"More than {MAX_REDIRECTS} redirects", permanent=True)


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise OutboundError(f"Response larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise OutboundError("Response took too long to arrive")
            chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise OutboundError(f"Response broken off: {type(exc).__name__}") from None
    return b"".join(chunks)
