"""JSON answers, CORS and the request checks shared by the public API endpoints."""

from __future__ import annotations

import functools
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
        response["Vary"] = "Origin"
        return response

    return wrapper


def client_ip(request: HttpRequest) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over the limit."""
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= limit else None


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses integers wider than 64 bits; the stdlib parser takes them so that a
    # too-large `total` gets the field's own message rather than "invalid payload".
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


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
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            received_at=timezone.now(),
        )
        return view(request, info, payload, meta)

    return wrapper
