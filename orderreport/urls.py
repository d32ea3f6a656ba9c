from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views import defaults

from orderreport import views
from orderreport.ingest import forms, reports_api
from orderreport.ingest import read as read_api
from orderreport.ingest import views as tracking
from orderreport.ingest.http import error_response

# The admin logs in through the app's own login (allauth's documented way): its form would
# skip two-factor and the failed-login limits. Set before admin.site.urls binds the view.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    # The guide's paths; a trailing slash is forgiven, since shops paste URLs by hand.
    re_path(r"^api/orders/track/?$", tracking.track_order, name="track-order"),
    re_path(r"^api/events/track/?$", tracking.track_event, name="track-event"),
    re_path(r"^api/orders/update/?$", tracking.update_order_view, name="update-order"),
    re_path(r"^api/external/orders/?$", read_api.read_orders, name="read-orders"),
    re_path(r"^api/external/events/?$", read_api.read_events, name="read-events"),
    re_path(r"^api/external/reports/?$", reports_api.read_reports, name="read-reports"),
    re_path(r"^api/", views.api_not_found),
    # Forms without code (ingest/forms.py); production serves them as the tracking endpoints.
    re_path(r"^f/(?P<key>[^/]+)/?$", forms.form_view, name="form-post"),
    re_path(r"^hooks/forms/(?P<token>[^/]+)/?$", forms.hook_view, name="form-hook"),
    path("forms/thanks/", forms.thanks, name="form-thanks"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("orderreport.reports.urls")),
    path("projects/<id:project_id>/orders/", include("orderreport.orders.urls")),
    path("projects/<id:project_id>/", include("orderreport.events.urls")),
    path("projects/", include("orderreport.projects.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("orderreport.accounts.urls")),
    path("", include("orderreport.notify.urls")),
    path("", views.home, name="home"),
]

if settings.BENCHMARK_BASELINE:
    urlpatterns.append(path("bench/baseline", views.bench_baseline))


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A Host outside ALLOWED_HOSTS (or another SuspiciousOperation) lands here, before any
    # view: the API still answers in its own JSON shape, not Django's HTML page.
    if request.path.startswith("/api/"):
        return error_response(400, "Bad request", "bad_request")
    return defaults.bad_request(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The API never answers with an HTML page, not even for a mistyped path.
    if request.path.startswith("/api/"):
        return error_response(404, "Not found", "not_found")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return error_response(500, "Internal error", "internal_error")
    return defaults.server_error(request)
