"""Small site-wide views: the landing page, the health check and the benchmark baseline."""

from __future__ import annotations

import orjson
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect("/projects/")
    return render(request, "home.html")


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any other /api/ path: a JSON 404, never an HTML page (DEBUG included)."""
    from orderreport.ingest.http import error_response

    return error_response(404, "Not found", "not_found")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; for load balancers and `make run`'s readiness wait."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def bench_baseline(request: HttpRequest) -> HttpResponse:
    """The benchmark's baseline: parse the body like the API does, touch nothing, answer 201.

    Mounted only when BENCHMARK_BASELINE=true (benchmarks/ingest.py sets it).
    """
    body = orjson.loads(request.body)
    return HttpResponse(
        orjson.dumps({"message": "Order tracked", "id": body.get("id")}),
        status=201,
        content_type="application/json",
    )
