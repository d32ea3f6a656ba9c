"""JSON answers, CORS and the request checks shared by the public API endpoints."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from orderreport.projects.domains import host_matches, origin_host
from orderreport.tracking.admission import admit
from orderreport.tracking.lookup import KeyInfo
from orderreport.tracking.meta import RequestMeta

log = logging.getLogger(__name__)

ALLOW = "POST, OPTIONS"
View = Callable[[HttpRequest], HttpResponse]
TrackingView = Callable[[HttpRequest, KeyInfo, dict[str, Any], RequestMeta], HttpResponse]


def json_response(body: dict[str, Any], status: int) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def error(status: int, message: str, code: str, **extra: Any) -> HttpResponse:
    return json_response({"message": message, "code": code, **extra}, status)


def cors(view: View) -> View:
    """CORS for a public endpoint: preflight, 405, and Allow-Origin on every answer.

    Also the last line of defence of the contract's "never a 500 page": anything unexpected
    becomes a JSON error, and a database outage a 503 the client may retry.
    """

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            del response["Content-Type"]
            response["Access-Control-Allow-Methods"] = ALLOW
            response["Access-Control-Allow-Headers"] = "Content-Type, X-API-KEY"
            response["Access-Control-Max-Age"] = "86400"
        elif request.method != "POST":
            response = error(405, "Method not allowed", "method_not_allowed")
            response["Allow"] = ALLOW
        else:
            try:
                response = view(request)
            except DatabaseError:
                log.exception("database error in %s", request.path)
                response = error(503, "Service temporarily unavailable", "unavailable")
                response["Retry-After"] = "5"
            except Exception:
                log.exception("unexpected error in %s", request.path)
                response = error(500, "Internal error", "internal_error")
        origin = request.META.get("HTTP_ORIGIN")
        if origin and "\n" not in origin and "\r" not in origin:
            response["Access-Control-Allow-Origin"] = origin
            if response.has_header("Retry-After"):
                # Without this a page's script cannot read how long to wait after a 429/503.
                response["Access-Control-Expose-Headers"] = "Retry-After"
        response["Vary"] = "Origin"
        return response

    return wrapper


def client_ip(request: HttpRequest) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            # Stored in an address column: whatever a client slips into the header through a
            # misconfigured proxy chain must not become a database error.
            try:
                return str(ipaddress.ip_address(hops[-proxies]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over the limit."""
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        # WSGI reads no body without a valid length (and request.body would raise): the
        # request goes on with an empty body and ends as "Invalid data payload".
        return b""
    if declared > limit:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= limit else None


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


_last_used_written: dict[int, float] = {}
LAST_USED_EVERY = 60.0


def note_key_used(key_id: int) -> None:
    """Record when a key was last used, at most once a minute per key and process."""
    now = time.monotonic()
    if now - _last_used_written.get(key_id, -LAST_USED_EVERY) < LAST_USED_EVERY:
        return
    _last_used_written[key_id] = now
    from orderreport.projects.models import ApiKey

    ApiKey.objects.filter(pk=key_id).update(last_used=timezone.now())


def tracking_checks(view: TrackingView) -> View:
    """Checks 1-6 of the contract (and the rate limit, 12) in the contract's order.

    None of them touches the database: the key comes from the cache (unknown keys included),
    so refused requests cost no query; with Redis the key and both rate limits cost one
    round trip (admission.py). The view gets the key's KeyInfo, the decoded JSON
    object and the metadata to store.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            body = _read_body(request)
        except UnreadablePostError:
            return error(422, "Invalid data payload", "invalid_payload")
        if body is None:
            return error(413, "Payload too large", "payload_too_large")
        raw_key = request.META.get("HTTP_X_API_KEY", "").strip()
        if not raw_key:
            return error(401, "API key missing", "api_key_missing")
        ip = client_ip(request)
        info, retry_after = admit(raw_key, ip or "-")
        if info is None:
            return error(401, "Invalid API key", "invalid_api_key")
        if retry_after:
            response = error(429, "Too many requests", "rate_limited")
            response["Retry-After"] = str(retry_after)
            return response
        origin = request.META.get("HTTP_ORIGIN", "")
        if not origin.isascii():
            # WSGI hands headers over as Latin-1; a server-side client may set a UTF-8
            # `Origin: https://пример.рф` (browsers send punycode).
            with contextlib.suppress(UnicodeError):
                origin = origin.encode("latin-1").decode("utf-8")
        host = origin_host(origin)
        if host is None:
            return error(403, "Invalid Origin header", "invalid_origin")
        if not host_matches(host, info.domains):
            return error(403, "Domain not allowed", "domain_not_allowed")
        payload = _parse_json(body)
        if not isinstance(payload, dict):
            return error(422, "Invalid data payload", "invalid_payload")
        meta = RequestMeta(
            origin=origin,
            client_ip=ip,
            # PostgreSQL text holds no NUL, which only a broken client sends.
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512].replace("\x00", ""),
            received_at=timezone.now(),
        )
        return view(request, info, payload, meta)

    return wrapper
