"""WSGI entry point (`orderreport serve` runs it under granian).

The tracking and form endpoints go to their own plain WSGI application (ingest/wsgi.py): the hot
path, without Django's request machinery. The rest of the public API (and the benchmark's
baseline) gets its own Django handler with a short middleware chain: API requests carry no
session, user, CSRF token or flash message. Everything else goes through the full chain of
settings.MIDDLEWARE.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderreport.settings")

site = get_wsgi_application()


def _api_handler() -> WSGIHandler:
    from django.conf import settings

    # Django builds a handler's chain from settings.MIDDLEWARE when the handler is created;
    # this runs once, at import, before any request thread exists.
    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = settings.API_MIDDLEWARE
    try:
        return WSGIHandler()
    finally:
        settings.MIDDLEWARE = full


api = _api_handler()

# Imported after Django is set up (get_wsgi_application above).
from django.conf import settings  # noqa: E402

from orderreport.ingest import wsgi as tracking  # noqa: E402
from orderreport.slowclients import with_read_deadline  # noqa: E402


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    # granian would let a client take forever over its body, holding this thread meanwhile.
    with_read_deadline(environ, settings.REQUEST_READ_TIMEOUT_SECONDS)
    path = environ.get("PATH_INFO", "")
    if tracking.endpoint(path) is not None:
        return tracking.application(environ, start_response)
    if path.startswith("/api/") or path == "/bench/baseline":
        return api(environ, start_response)
    return site(environ, start_response)
