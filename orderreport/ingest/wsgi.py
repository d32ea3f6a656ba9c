"""The public API's write endpoints as a plain WSGI application: how production serves them.

orderreport/wsgi.py sends `/api/orders/track` and `/api/events/track` (with or without the
trailing slash), `/api/orders/update`, and the form endpoints `/f/<event_key>` and
`/hooks/forms/<token>` (ingest/forms.py) here (`endpoint()`), and everything else to Django.
Measured on the benchmark's two cores, Django's handler, middleware chain, request signals
and HttpRequest/HttpResponse objects cost about as much CPU per order as all of the
contract's checks together; this module does what of that the API needs, and no more:

- ALLOWED_HOSTS, as Django's CommonMiddleware checks it (the answer cached per Host);
- `X-Content-Type-Options: nosniff`, as Django's SecurityMiddleware adds it;
- no request signals: orders and event records are written through the batch writer's own
  connection (ingest/writer.py); the request thread's connection only reads a key the cache
  did not have, and one broken by a failure is closed there (http.py) and opened afresh by
  the next request.

The checks, the endpoints and the answers are the same functions the Django views use
(ingest/http.py, ingest/views.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from orderreport.ingest import forms
from orderreport.ingest.forms import Endpoint
from orderreport.ingest.http import (
    Answer,
    TrackingView,
    error,
    read_wsgi_body,
    respond,
    with_cors,
)
from orderreport.ingest.views import event_answer, order_answer, update_answer

log = logging.getLogger(__name__)

ROUTES: dict[str, TrackingView] = {
    "/api/orders/track": order_answer,
    "/api/orders/track/": order_answer,
    "/api/events/track": event_answer,
    "/api/events/track/": event_answer,
    "/api/orders/update": update_answer,
    "/api/orders/update/": update_answer,
}
_STATUS = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


@functools.lru_cache(maxsize=1024)
def _host_allowed(host: str, allowed: tuple[str, ...], debug: bool) -> bool:
    domain, _port = split_domain_port(host)
    if debug and not allowed:
        allowed = (".localhost", "127.0.0.1", "[::1]")  # as Django's HttpRequest.get_host
    return bool(domain) and validate_host(domain, allowed)


def host_allowed(environ: Mapping[str, Any]) -> bool:
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    return _host_allowed(host, tuple(settings.ALLOWED_HOSTS), settings.DEBUG)


# Built once: the tracking endpoints cost a dict lookup per request, as before the forms.
_SERVED: dict[str, Endpoint] = {path: functools.partial(respond, v) for path, v in ROUTES.items()}


def endpoint(path: str) -> Endpoint | None:
    """The endpoint this application serves at `path`, else None (Django serves it)."""
    return _SERVED.get(path) or forms.route(path)


def _answer(serve: Endpoint, environ: Mapping[str, Any]) -> Answer:
    if not host_allowed(environ):
        return with_cors(error(400, "Bad request", "bad_request"), environ)
    return serve(environ, functools.partial(read_wsgi_body, environ))


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    serve = endpoint(environ["PATH_INFO"])
    assert serve is not None, "orderreport/wsgi.py routes only endpoint() paths here"
    try:
        answer = _answer(serve, environ)
    except Exception:  # respond() catches the view's errors; this is for everything else
        log.exception("unexpected error in %s", environ.get("PATH_INFO"))
        answer = with_cors(error(500, "Internal error", "internal_error"), environ)
    headers = list(answer.headers.items())
    headers.append(("Content-Length", str(len(answer.body))))
    headers.append(("X-Content-Type-Options", "nosniff"))
    start_response(_STATUS[answer.status], headers)
    return [answer.body]
