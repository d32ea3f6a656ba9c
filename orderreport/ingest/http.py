"""The public API's request handling, on a WSGI environ instead of Django's request objects.

The two tracking endpoints are the product's hot path: every order of every shop comes through
them, and on a two-core server Django's request and response machinery (middleware, signals,
HttpRequest, HttpResponse) cost as much CPU as the checks themselves. So they are served by a
plain WSGI application (ingest/wsgi.py) that calls `respond` below, and the Django views in
ingest/views.py wrap the same `respond` for `runserver` and the URLconf. Everything here
reads a WSGI environ (Django's request.META is one) and returns an Answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils import timezone

from orderreport.ingest.admission import admit
from orderreport.ingest.lookup import SERVER, KeyInfo
from orderreport.ingest.meta import RequestMeta
from orderreport.ingest.writer import OutcomeUnknown
from orderreport.outage import Outage
from orderreport.projects import testmark
from orderreport.projects.domains import host_matches, origin_host
from orderreport.slowclients import RequestTimeout

log = logging.getLogger(__name__)
outage = Outage("database", log)

ALLOW = "POST, OPTIONS"
JSON = "application/json"


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(body: dict[str, Any], status: int) -> Answer:
    return Answer(status, orjson.dumps(body), {"Content-Type": JSON})


def error(status: int, message: str, code: str, **extra: Any) -> Answer:
    return json_answer({"message": message, "code": code, **extra}, status)


def to_response(answer: Answer) -> HttpResponse:
    """The Answer as a Django response (the Django views and error handlers)."""
    response = HttpResponse(answer.body, status=answer.status)
    del response["Content-Type"]
    for name, value in answer.headers.items():
        response[name] = value
    return response


def error_response(status: int, message: str, code: str) -> HttpResponse:
    return to_response(error(status, message, code))


class UnreadableBody(Exception):
    """The client's body could not be read (the connection broke mid-upload)."""


class BodyTimeout(UnreadableBody):
    """The client did not send its whole body by REQUEST_READ_TIMEOUT_SECONDS."""


def body_timeout() -> Answer:
    """The answer to a client that did not send its body in time."""
    return error(408, "Request body not received in time", "request_timeout")


def server_key_in_browser() -> Answer:
    return error(
        403,
        "Server keys belong on servers: do not use them in a browser",
        "server_key_in_browser",
    )


def require_server_key(info: KeyInfo) -> Answer | None:
    """The answer for a browser key on an endpoint that needs a server key, else None.

    For the endpoints that update and read orders (issue 9): a browser key sits in every
    shop's page source, so it may only track.
    """
    if info.kind != SERVER:
        return error(403, "This key can only track", "key_scope")
    return None


def _from_browser(environ: Mapping[str, Any]) -> bool:
    # Browsers send the Fetch Metadata headers with every request (and no page's script can
    # remove them); servers' HTTP clients do not.
    return bool(environ.get("HTTP_SEC_FETCH_MODE") or environ.get("HTTP_SEC_FETCH_SITE"))


# Reads the body given the size limit: the bytes, or None if the body is over the limit.
BodyReader = Callable[[int], bytes | None]
TrackingView = Callable[[KeyInfo, dict[str, Any], RequestMeta], Answer]


def respond(view: TrackingView, environ: Mapping[str, Any], read: BodyReader) -> Answer:
    """A whole answer of a public POST endpoint: preflight, 405, the checks, the view, CORS."""
    return answer_request(environ, "POST", ALLOW, lambda: _checked(view, environ, read))


def answer_request(
    environ: Mapping[str, Any], method: str, allow: str, checked: Callable[[], Answer]
) -> Answer:
    """What every public endpoint does around its checks and view, whatever its method.

    The preflight, 405 for other methods, CORS on every answer, and the last line of defence
    of the contract's "never a 500 page": anything unexpected becomes a JSON error, and a
    database outage a 503 the client may retry.
    """
    request_method = environ.get("REQUEST_METHOD")
    if request_method == "OPTIONS":
        answer = Answer(
            204,
            headers={
                "Access-Control-Allow-Methods": allow,
                "Access-Control-Allow-Headers": "Content-Type, X-API-KEY",
                "Access-Control-Max-Age": "86400",
            },
        )
    elif request_method != method:
        answer = error(405, "Method not allowed", "method_not_allowed")
        answer.headers["Allow"] = allow
    else:
        try:
            answer = checked()
            outage.succeeded()
        except OutcomeUnknown as exc:
            # The item may be stored: the client retries with the same id (docs/integration.md).
            outage.failed(str(environ.get("PATH_INFO")), exc)
            answer = error(
                503,
                "Service temporarily unavailable; the request may have been recorded. "
                "Retry with the same id",
                "outcome_unknown",
            )
            answer.headers["Retry-After"] = "5"
        except DatabaseError as exc:
            # Nothing was stored (writer.NotRecorded, or this thread's own connection failed
            # before anything was written: the key lookup).
            outage.failed(str(environ.get("PATH_INFO")), exc)
            _discard_broken_connection()
            answer = error(503, "Service temporarily unavailable", "unavailable")
            answer.headers["Retry-After"] = "5"
        except Exception:
            log.exception("unexpected error in %s", environ.get("PATH_INFO"))
            answer = error(500, "Internal error", "internal_error")
    return with_cors(answer, environ)


def with_cors(answer: Answer, environ: Mapping[str, Any]) -> Answer:
    """Allow-Origin on every answer, so that a page's script can read even the errors."""
    origin = environ.get("HTTP_ORIGIN")
    if origin and "\n" not in origin and "\r" not in origin:
        answer.headers["Access-Control-Allow-Origin"] = origin
        if "Retry-After" in answer.headers:
            # Without this a page's script cannot read how long to wait after a 429/503.
            answer.headers["Access-Control-Expose-Headers"] = "Retry-After"
    answer.headers["Vary"] = "Origin"
    return answer


def declared_length(environ: Mapping[str, Any]) -> int:
    """The request's Content-Length; 0 when it is missing or not a number.

    No valid length, no body (as Django reads it): the request goes on with an empty body
    and ends as "Invalid data payload".
    """
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def read_wsgi_body(environ: Mapping[str, Any], limit: int) -> bytes | None:
    """The body from the WSGI input stream, or None when it is over the limit."""
    declared = declared_length(environ)
    if declared > limit:
        return None
    if not declared:
        return b""
    try:
        body: bytes = environ["wsgi.input"].read(declared)
    except RequestTimeout as exc:
        raise BodyTimeout from exc
    except OSError as exc:
        raise UnreadableBody from exc
    return body if len(body) <= limit else None


def client_ip(environ: Mapping[str, Any]) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            # Stored in an address column: whatever a client slips into the header through a
            # misconfigured proxy chain must not become a database error.
            try:
                return str(ipaddress.ip_address(hops[-proxies]))
            except ValueError:
                pass
    return environ.get("REMOTE_ADDR") or None


def _parse_json(body: bytes) -> Any:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(value) is dict and _digits_lost(value):
        return _parse_exact(body)
    return value


def _digits_lost(payload: dict[str, Any]) -> bool:
    """True if orjson may have rounded an integer whose digits are stored.

    orjson reads an integer wider than 64 bits as a float, which would lose digits of an
    integer `id` or of a number sent as a data value. Floats are rare there, so this costs
    a type check or two on the hot path.
    """
    if type(payload.get("id")) is float:
        return True
    data = payload.get("data")
    if type(data) is list:
        for item in data:
            if type(item) is dict and type(item.get("value")) is float:
                return True
    return False


def _parse_exact(body: bytes) -> Any:
    """The stdlib parser, which keeps integers exact. orjson has accepted this body, so it
    is valid UTF-8 JSON without NaN, infinities or lone surrogates."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


# A shop's requests come from a handful of origins: parse each once.
_origin_host = functools.lru_cache(maxsize=4096)(origin_host)

_last_used_written: dict[int, float] = {}
LAST_USED_EVERY = 60.0


def _discard_broken_connection() -> None:
    """Close this thread's connection if a failure left it unusable.

    The WSGI application sends no request signals (ingest/wsgi.py), so nothing else would:
    a connection broken once (a server restart, a dropped socket) would fail every later
    request of this thread until the process restarts. Closed, it is opened afresh on the
    next request that needs it.
    """
    if connection.connection is not None and not connection.in_atomic_block:
        try:
            usable = connection.is_usable()
        except Exception:
            usable = False
        if not usable:
            connection.close()


def note_key_used(key_id: int) -> None:
    """Record when a key was last used, at most once a minute per key and process."""
    now = time.monotonic()
    if now - _last_used_written.get(key_id, -LAST_USED_EVERY) < LAST_USED_EVERY:
        return
    _last_used_written[key_id] = now
    from orderreport.projects.models import ApiKey

    # The request's record is committed already: a failure here must not turn its answer
    # into an error. The order path sends no request signals (ingest/wsgi.py), so a
    # connection broken since its last use is closed here, to be opened afresh next time.
    try:
        ApiKey.objects.filter(pk=key_id).update(last_used=timezone.now())
    except DatabaseError:
        log.warning("could not note that key %s was used", key_id, exc_info=True)
        if not connection.in_atomic_block:
            connection.close()


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request that passed the key, rate-limit and Origin checks."""

    info: KeyInfo
    origin: str
    ip: str | None


def admit_request(environ: Mapping[str, Any]) -> Admitted | Answer:
    """Checks 2-5 of the contract and the rate limit (12), for every public endpoint.

    A server key (the contract's "Two kinds of key") is refused when the request comes from a
    browser (403 server_key_in_browser, in check 4's place), and needs no Origin: checks 4-5
    are skipped when none is sent, and an Origin that is sent must pass them.
    """
    raw_key = environ.get("HTTP_X_API_KEY", "").strip()
    if not raw_key:
        return error(401, "API key missing", "api_key_missing")
    ip = client_ip(environ)
    info, retry_after = admit(raw_key, ip or "-")
    if info is None:
        return error(401, "Invalid API key", "invalid_api_key")
    if retry_after:
        answer = error(429, "Too many requests", "rate_limited")
        answer.headers["Retry-After"] = str(retry_after)
        return answer
    origin = environ.get("HTTP_ORIGIN", "")
    if info.kind == SERVER and _from_browser(environ):
        return server_key_in_browser()
    if origin or info.kind != SERVER:
        origin = header_text(origin)
        refused = check_origin(origin, info.domains)
        if refused is not None:
            return refused
    return Admitted(info, origin, ip)


def header_text(value: str) -> str:
    """A header's value as the client meant it: WSGI hands headers over as Latin-1, and a
    server-side client may set a UTF-8 `Origin: https://пример.рф` (browsers send punycode)."""
    if not value.isascii():
        with contextlib.suppress(UnicodeError):
            value = value.encode("latin-1").decode("utf-8")
    return value


def check_origin(origin: str, domains: tuple[str, ...]) -> Answer | None:
    """Checks 4-5 of the contract: None if the Origin's host is one of these domains."""
    host = _origin_host(origin)
    if host is None:
        return error(403, "Invalid Origin header", "invalid_origin")
    if not host_matches(host, domains):
        return error(403, "Domain not allowed", "domain_not_allowed")
    return None


def request_meta(environ: Mapping[str, Any], origin: str, ip: str | None) -> RequestMeta:
    """What is stored with an accepted record besides its payload."""
    return RequestMeta(
        origin=origin,
        client_ip=ip,
        # PostgreSQL text holds no NUL, which only a broken client sends.
        user_agent=environ.get("HTTP_USER_AGENT", "")[:512].replace("\x00", ""),
        # What timezone.now() returns with USE_TZ, without its settings lookup per order.
        received_at=dt.datetime.now(dt.UTC),
        test_mark=environ.get(testmark.ENVIRON_KEY, ""),
    )


def _checked(view: TrackingView, environ: Mapping[str, Any], read: BodyReader) -> Answer:
    """Checks 1-6 of the contract (and the rate limit, 12) in the contract's order.

    None of them touches the database: the key comes from the cache (unknown keys included),
    so refused requests cost no query; with Redis the key and both rate limits cost one
    round trip (admission.py). The view gets the key's KeyInfo, the decoded JSON
    object and the metadata to store. Checks 2-5 are admit_request's.
    """
    try:
        body = read(settings.API_MAX_BODY_BYTES)
    except BodyTimeout:
        return body_timeout()
    except UnreadableBody:
        return error(422, "Invalid data payload", "invalid_payload")
    if body is None:
        return error(413, "Payload too large", "payload_too_large")
    admitted = admit_request(environ)
    if isinstance(admitted, Answer):
        return admitted
    payload = _parse_json(body)
    if not isinstance(payload, dict):
        return error(422, "Invalid data payload", "invalid_payload")
    return view(admitted.info, payload, request_meta(environ, admitted.origin, admitted.ip))
