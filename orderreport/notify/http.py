"""The one way OrderReport makes outbound HTTP requests.

One place for timeouts, the response size cap, the User-Agent, and the guard that keeps
user-given URLs away from private networks. The guard resolves the host name itself, checks
every address, then connects to the address it checked (the Host header and TLS server name
keep the original name), so a DNS answer that changes between check and connect (DNS
rebinding) cannot slip through. Redirects are followed here, hop by hop, each one checked; a
request with a body follows only 307/308, which keep its method and body.

What a refused address resolved to is for the operator's log only: the error the tenant sees
(in the delivery log) says "Destination not allowed", so the guard cannot be used to map the
internal network's names.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import certifi
import httpcore
import httpx
import orjson
from django.conf import settings
from django.utils.translation import gettext_noop

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_REDIRECTS = 5
# 307 and 308 repeat the request as it was; 301, 302 and 303 turn a POST into a body-less
# GET in every client, which for a webhook would drop the order and still look like success.
KEEPS_METHOD = (307, 308)
# Stored in English in the delivery log like every error, translated where it is shown.
NOT_ALLOWED = gettext_noop("Destination not allowed")
# Prefixes whose addresses carry an IPv4 address in their last 32 bits (RFC 6052's NAT64
# well-known prefix); the IPv4 address is where the packets end up.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# A name lookup waits no longer than a connection does. The system resolver has no timeout of
# its own to pass (a hung DNS server costs its retries times its nameservers, often 30 s), so
# each lookup runs in a daemon thread and is abandoned when its time is up; at most this many
# abandoned lookups run at once, after which new ones fail at once until one ends.
RESOLVE_SECONDS = 5.0
_LOOKUPS = threading.BoundedSemaphore(16)


class OutboundError(Exception):
    """A request that did not produce a response; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class BlockedAddress(OutboundError):
    """A destination the guard refused. Its text is safe to show the tenant; `detail` (what
    the name resolved to) is for the operator's log."""

    def __init__(self, detail: str) -> None:
        super().__init__(NOT_ALLOWED, permanent=True)
        self.detail = detail


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


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to: IPv4-mapped, NAT64, 6to4 or Teredo."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client, de-obfuscated; the first is the Teredo server
    return None


def is_public(ip: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified addresses,
    and for IPv6 addresses that embed one (6to4 2002::/16 and Teredo 2001::/32 tunnel to it,
    NAT64 64:ff9b::/96 translates to it)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            if not is_public(inner):
                return False
            # Teredo is a host tunnel, never a server's address; 6to4 ranges are ordinary
            # global IPv6 otherwise. NAT64 and mapped addresses stand for the IPv4 address.
            if ip.ipv4_mapped is not None or ip in _NAT64:
                return True
            if ip.teredo is not None:
                return False
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


def resolve(host: str, port: int, wait: float = RESOLVE_SECONDS) -> list[IPAddress]:
    """Every address of `host`, looked up for at most `wait` seconds; an IP literal resolves
    to itself."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = _lookup(host, port, wait)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def _lookup(host: str, port: int, wait: float) -> list[Any]:
    slots = _LOOKUPS  # the one this lookup holds a slot of, whatever replaces it meanwhile
    if not slots.acquire(blocking=False):
        raise OutboundError(f"Could not resolve {host}: the name service is not answering")
    answer: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            answer["error"] = exc
        finally:
            slots.release()
            done.set()

    threading.Thread(target=run, name=f"resolve {host}", daemon=True).start()
    if not done.wait(wait):
        raise OutboundError(f"Could not resolve {host}: no answer within {wait:g} s")
    if "error" in answer:
        raise OutboundError(f"Could not resolve {host}") from None
    return answer["infos"]


def _checked_address(url: str, wait: float = RESOLVE_SECONDS) -> tuple[str, IPAddress]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(
            f"Not an http(s) URL: {parts.scheme}://{parts.hostname}", permanent=True
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port, wait)
    if not addresses:
        raise OutboundError(f"{parts.hostname} has no address")
    # Every address must pass, not just the first: the connection could go to any of them.
    refused = [ip for ip in addresses if not address_allowed(ip)]
    if refused:
        detail = (
            f"{parts.hostname} resolves to {', '.join(map(str, addresses))}; "
            f"{', '.join(map(str, refused))} is private or reserved"
        )
        log.warning("outbound request refused: %s", detail)
        raise BlockedAddress(detail)
    return parts.hostname, addresses[0]


def check_url(url: str) -> None:
    """Raise BlockedAddress if `url`'s host is, or now resolves to, an address the guard
    refuses; a name that does not resolve passes (the guard checks again at every request)."""
    try:
        _checked_address(url, min(settings.OUTBOUND_TIMEOUT_SECONDS, RESOLVE_SECONDS))
    except BlockedAddress:
        raise
    except OutboundError:
        pass


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits no longer than what is left of the
    request's deadline: httpx's timeouts are per read, so a receiver trickling a byte at a
    time could otherwise hold a send (and the worker, past its lease) for hours."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("The request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self._left(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self.stream.start_tls(ssl_context, server_hostname, self._left(timeout))
        return _DeadlineStream(tls, self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = self._left(timeout)
        # A guarded request comes here with the address it checked; an operator's URL (the
        # Telegram API) with a name, looked up here so that the lookup is bounded too.
        addresses = resolve(host, port, min(timeout, RESOLVE_SECONDS))
        for n, ip in enumerate(addresses):
            try:
                stream = super().connect_tcp(
                    str(ip), port, self._left(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if n == len(addresses) - 1:
                    raise
                continue
            return _DeadlineStream(stream, self.deadline)
        raise httpcore.ConnectError(f"{host} has no address")

    def _left(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("The request's deadline passed")
        return left if timeout is None else min(timeout, left)


def _transport(deadline: float) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=_tls_context(), trust_env=False)
    # httpx has no total timeout and does not expose httpcore's network backend; its pool is
    # replaced by one on the deadline-keeping backend (tests/notify/test_http_guard.py
    # would notice an httpx upgrade that broke this).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_tls_context(), network_backend=_DeadlineBackend(deadline)
    )
    return transport


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
    # The whole request, redirects and body included, ends by this deadline.
    deadline = time.monotonic() + timeout * 3
    redirects: list[str] = []
    base_headers = {"User-Agent": user_agent(), **(headers or {})}
    # A client per call, never a shared pool: connections are keyed by the pinned address,
    # and one opened for a host name must not carry another host's request.
    with httpx.Client(
        transport=_transport(deadline),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would bypass the address guard
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            send_headers = dict(base_headers)
            extensions: dict[str, Any] = {}
            target = url
            if guard:
                host, ip = _checked_address(url, min(timeout, RESOLVE_SECONDS))
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
                    target_url = urljoin(url, location)
                    status = response.status_code
                    if status not in KEEPS_METHOD and method not in ("GET", "HEAD"):
                        # A failed attempt, retried: the receiver may fix its URL meanwhile.
                        raise OutboundError(
                            f"Redirected with {status} to {target_url}; only 307/308 are followed"
                        )
                    if url.startswith("https://") and not target_url.startswith("https://"):
                        # The body (a signed order) must not continue in clear text.
                        raise OutboundError(
                            "Refusing to follow a redirect from https to http", permanent=True
                        )
                    redirects.append(url)
                    url = target_url
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
