"""Dashboard pages of event records: all events' records, one event's, one record, deleting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orderreport.accounts.access import ProjectAccess, project_for
from orderreport.events import spam, tallies
from orderreport.events.export import record_header, record_rows
from orderreport.events.forms import RecordFilterForm
from orderreport.events.models import EventRecord
from orderreport.events.queries import newer_records, record_page, record_total
from orderreport.listing.export import FORMATS, export_query, export_response, filename
from orderreport.listing.forms import QUICK_CHOICES
from orderreport.listing.queries import Cursor, project_zone
from orderreport.listing.views import (
    data_pairs,
    fragment_login_required,
    pager,
    poll_newer,
    poll_url,
    try_reverse,
)
from orderreport.projects.models import Event

# The list shows the first few pairs of each record; the detail page shows them all.
PREVIEW_PAIRS = 3


def _event_of(access: ProjectAccess, event_id: int | None) -> Event | None:
    if event_id is None:
        return None
    return get_object_or_404(Event, project=access.project, pk=event_id)


def _poll_args(access: ProjectAccess, event: Event | None) -> tuple[str, tuple[int, ...]]:
    if event is None:
        return "events:records_newer", (access.project.pk,)
    return "events:event_records_newer", (access.project.pk, event.pk)


def _export_url(access: ProjectAccess, event: Event | None) -> str:
    if event is None:
        return reverse("events:records_export", args=[access.project.pk])
    return reverse("events:event_records_export", args=[access.project.pk, event.pk])


def _rows(records: list[EventRecord]) -> list[tuple[EventRecord, list[tuple[str, str]]]]:
    return [(r, data_pairs(r.data)[:PREVIEW_PAIRS]) for r in records]


def _list(request: HttpRequest, project_id: int, event_id: int | None) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    event = _event_of(access, event_id)
    zone = project_zone(project.timezone)
    form = RecordFilterForm(request.GET, zone=zone, project=project, fixed_event=event)
    ctx = {
        "project": project,
        "access": access,
        "zone": zone,
        "event": event,
        "form": form,
        "quick_choices": QUICK_CHOICES,
        "integration_url": try_reverse("projects:integration", project.pk),
        "event_keys_url": try_reverse("projects:events", project.pk),
    }
    if not form.is_valid():
        return render(request, "events/list.html", ctx, status=400)
    after, before = form.cleaned_data["after"], form.cleaned_data["before"]
    filters = form.filters()
    page = record_page(project.pk, filters, after, before=before)
    # The first page polls for newer records (also when a link back one page led to it).
    live = not page.has_previous and (
        filters.period.end is None or filters.period.end > timezone.now()
    )
    name, args = _poll_args(access, event)
    ctx.update(
        rows=_rows(page.rows),
        next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        paged=page.has_previous,
        filtered=form.is_filtered(),
        pager=pager(page, record_total(project.pk, filters, form.is_filtered())),
        spam=filters.spam,
        back=request.get_full_path(),
        poll=poll_url(request, name, page.newest, *args) if live else None,
        export_url=_export_url(access, event),
        export_query=export_query(request.GET),
    )
    return render(request, "events/list.html", ctx)


def _export(request: HttpRequest, project_id: int, event_id: int | None) -> HttpResponseBase:
    """The list's records with its filters, as CSV or XLSX; every member may export."""
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    event = _event_of(access, event_id)
    zone = project_zone(project.timezone)
    form = RecordFilterForm(request.GET, zone=zone, project=project, fixed_event=event)
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS or not form.is_valid():
        return HttpResponse(_("Bad filter."), status=400, content_type="text/plain")
    return export_response(
        fmt,
        filename("records", project.name, project.pk),
        record_header(zone),
        record_rows(project.pk, form.filters(), zone),
    )


def _newer(request: HttpRequest, project_id: int, event_id: int | None) -> HttpResponse:
    """The polling fragment, as for orders: newer rows after a fresh poller."""
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    event = _event_of(access, event_id)
    zone = project_zone(project.timezone)
    form = RecordFilterForm(request.GET, zone=zone, project=project, fixed_event=event)
    records = poll_newer(
        request,
        form.is_valid(),
        lambda: bool(record_page(project.pk, form.filters(), size=1).rows),
        lambda since: newer_records(project.pk, form.filters(), since),
    )
    if isinstance(records, HttpResponse):
        return records
    name, args = _poll_args(access, event)
    list_name = "events:records" if event is None else "events:event_records"
    ctx = {
        "project": project,
        "zone": zone,
        "back": reverse(list_name, args=args) + "?show=spam",
        "event": event,
        "rows": _rows(records),
        "poll": poll_url(request, name, Cursor.of(records[0]), *args),
        "fresh": True,
        "access": access,
        "spam": form.is_valid() and form.shows_spam(),
    }
    return render(request, "events/_rows.html", ctx)


@login_required
@require_GET
def record_list(request: HttpRequest, project_id: int) -> HttpResponse:
    return _list(request, project_id, None)


@login_required
@require_GET
def event_record_list(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    return _list(request, project_id, event_id)


@fragment_login_required
@require_GET
def record_list_newer(request: HttpRequest, project_id: int) -> HttpResponse:
    return _newer(request, project_id, None)


@fragment_login_required
@require_GET
def event_record_list_newer(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    return _newer(request, project_id, event_id)


@login_required
@require_GET
def record_export(request: HttpRequest, project_id: int) -> HttpResponseBase:
    return _export(request, project_id, None)


@login_required
@require_GET
def event_record_export(request: HttpRequest, project_id: int, event_id: int) -> HttpResponseBase:
    return _export(request, project_id, event_id)


@login_required
@require_GET
def record_detail(request: HttpRequest, project_id: int, record_pk: int) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    record = get_object_or_404(
        EventRecord.objects.select_related("event"), project=access.project, pk=record_pk
    )
    ctx = {
        "project": access.project,
        "access": access,
        "zone": project_zone(access.project.timezone),
        "record": record,
        "pairs": data_pairs(record.data),
    }
    return render(request, "events/detail.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def record_delete(request: HttpRequest, project_id: int, record_pk: int) -> HttpResponse:
    """GET asks for confirmation, POST deletes. Owners and admins only."""
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    record = get_object_or_404(
        EventRecord.objects.select_related("event"), project=access.project, pk=record_pk
    )
    if request.method == "POST":
        event_id = record.event_id
        with transaction.atomic():
            record.delete()
            tallies.forget(record)
        messages.success(request, _("Record deleted."))
        return redirect("events:event_records", access.project.pk, event_id)
    ctx = {
        "project": access.project,
        "access": access,
        "zone": project_zone(access.project.timezone),
        "record": record,
    }
    return render(request, "events/delete.html", ctx)


@login_required
@require_POST
def record_not_spam(request: HttpRequest, project_id: int, record_pk: int) -> HttpResponse:
    """Take a record out of spam: counted and notified as if new. Owners and admins only."""
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    record = get_object_or_404(EventRecord, project=access.project, pk=record_pk)
    if spam.mark_not_spam(record):
        messages.success(request, _("Marked as not spam: the record is counted and notified."))
    else:
        messages.info(request, _("This record is not in spam."))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("events:record_detail", access.project.pk, record.pk)
