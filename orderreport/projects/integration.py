"""The integration page: the guide filled in with the project's values, a server key made
in place, the test order and the test form submission.

Split from views.py by topic; the same helpers and rules apply (project_for via _access).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from orderreport.accounts.access import ProjectAccess
from orderreport.projects import services
from orderreport.projects.forms import ServerKeyForm
from orderreport.projects.guide import (
    ORIGIN_PLACEHOLDER,
    build_examples,
    build_form_example,
    build_server_examples,
    form_fields,
)
from orderreport.projects.models import ApiKey, Event
from orderreport.projects.views import SERVER_FORM_PREFIX, _access, _is_htmx, _page

_TEST_RESULT_SESSION_KEY = "projects:test-order:%s"
_FORM_RESULT_SESSION_KEY = "projects:test-submission:%s"


def _form_section(
    request: HttpRequest, access: ProjectAccess, setup: services.Setup
) -> dict[str, Any]:
    """The "Form without code" section: one active event's form, chosen by ?form_event=."""
    project = access.project
    active = list(project.events.filter(is_active=True).order_by("name", "id"))
    chosen = request.GET.get("form_event", "")
    event = next((e for e in active if str(e.pk) == chosen), setup.event)
    if event is None:
        return {"events": active, "event": None}
    seen = services.event_fields(event)
    fields = form_fields(seen)
    origin = setup.origin or ORIGIN_PLACEHOLDER
    return {
        "defaults": not any(n and not n.startswith("_") for n in seen),
        "events": active,
        "event": event,
        "example": build_form_example(services.form_url(event), origin, fields),
        "hook_url": services.hook_url(event) if access.can_write else None,
        "result": request.session.pop(_FORM_RESULT_SESSION_KEY % project.pk, None),
    }


def _integration_page(
    request: HttpRequest,
    access: ProjectAccess,
    *,
    server_form: ServerKeyForm | None = None,
    new_key: ApiKey | None = None,
    raw: str | None = None,
) -> HttpResponse:
    project = access.project
    setup = services.project_setup(project)
    result = request.session.pop(_TEST_RESULT_SESSION_KEY % project.pk, None)
    domain = setup.domain.host.removeprefix("*.") if setup.domain else None
    latest = project.orders.order_by("-id").values_list("external_id", flat=True).first()
    return _page(
        request,
        "projects/integration.html",
        access,
        setup=setup,
        ex=build_examples(project, setup, settings.BASE_URL),
        sx=build_server_examples(settings.BASE_URL, domain, latest, raw),
        server_form=ServerKeyForm(prefix=SERVER_FORM_PREFIX, initial={"name": _("My server")})
        if server_form is None
        else server_form,
        new_key=new_key,
        result=result,
        form=_form_section(request, access, setup),
    )


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(["GET"])
def integration(request: HttpRequest, project_id: int) -> HttpResponse:
    return _integration_page(request, _access(request, project_id))


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_POST
def integration_server_key(request: HttpRequest, project_id: int) -> HttpResponse:
    """Create a server key from the integration page and answer the page itself with the key
    shown once and the Server API examples filled in with it (never stored, never cached)."""
    access = _access(request, project_id)
    form = ServerKeyForm(request.POST, prefix=SERVER_FORM_PREFIX)
    if not form.is_valid():
        return _integration_page(request, access, server_form=form)
    key, raw = services.create_server_key(access.project, form.cleaned_data["name"])
    return _integration_page(request, access, new_key=key, raw=raw)


@login_required
@require_POST
def integration_test_order(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    try:
        sent = services.send_test_order(access.project)
    except services.NotReady:
        result: dict[str, Any] = {"not_ready": True}
    else:
        body = sent.body
        pretty = json.dumps(body, indent=2, ensure_ascii=False)
        result = {
            "order_id": sent.order_id,
            "url": sent.url,
            "status": sent.status,
            "ok": sent.status == 201,
            "body": body if isinstance(body, str) else pretty,
            "error": sent.error,
        }
    if _is_htmx(request):
        setup = services.project_setup(access.project)
        return _page(
            request, "projects/_test_order_answer.html", access, result=result, setup=setup
        )
    # Post/redirect/get: reloading the page must not send a second order.
    request.session[_TEST_RESULT_SESSION_KEY % project_id] = result
    return redirect("projects:integration", project_id)


@login_required
@require_POST
def integration_test_submission(request: HttpRequest, project_id: int) -> HttpResponse:
    """Send one form post to an event's form address and show what it answered."""
    access = _access(request, project_id)
    event_id = request.POST.get("event", "")
    if not event_id.isdigit():
        raise Http404("No such event")
    event = get_object_or_404(Event, project=access.project, pk=int(event_id))
    fields = form_fields(services.event_fields(event))
    try:
        sent = services.send_test_submission(access.project, event, fields)
    except services.NotReady:
        result: dict[str, Any] = {"not_ready": True}
    else:
        body = sent.body
        record = None
        if sent.record_id is not None:
            record = access.project.event_records.filter(pk=sent.record_id).first()
        result = {
            "url": sent.url,
            "status": sent.status,
            "ok": sent.status == 201,
            "body": body if isinstance(body, str) else json.dumps(body, ensure_ascii=False),
            "error": sent.error,
            "record_url": _record_url(project_id, record.pk) if record else None,
            "spam": bool(record and record.spam),
        }
    if _is_htmx(request):
        return _page(request, "projects/_test_submission_result.html", access, result=result)
    request.session[_FORM_RESULT_SESSION_KEY % project_id] = result
    url = reverse("projects:integration", args=[project_id])
    return redirect(f"{url}?form_event={event.pk}#form-without-code")


def _record_url(project_id: int, record_id: int) -> str | None:
    try:
        return reverse("events:record_detail", args=[project_id, record_id])
    except NoReverseMatch:
        return None
