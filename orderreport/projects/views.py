"""Project pages: the list, settings, domains, API keys, event keys and the integration guide.

Every view reaches its project through orderreport.accounts.access.project_for (404 for
outsiders, 403 for a viewer writing). The actions themselves live in services.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from orderreport.accounts.access import ProjectAccess, project_for, visible_projects
from orderreport.accounts.context_processors import current_account_id
from orderreport.accounts.models import Account, Membership, User
from orderreport.projects import services
from orderreport.projects.domains import (
    InvalidDomain,
    describe_match,
    display_host,
    is_ip_literal,
    still_accepted,
)
from orderreport.projects.forms import (
    ApiKeyForm,
    DeleteProjectForm,
    DomainForm,
    EventForm,
    NewProjectForm,
    ProjectForm,
    ServerKeyForm,
)
from orderreport.projects.models import ApiKey, Domain, Event, Project

GET_POST = ["GET", "POST"]


def _user(request: HttpRequest) -> User:
    # login_required guarantees an authenticated User here.
    return request.user  # type: ignore[return-value]


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _access(request: HttpRequest, project_id: int, *, write: bool = False) -> ProjectAccess:
    # Pages that exist only to change something (confirm, rename) need write access even
    # to be shown; list pages need it only to POST.
    return project_for(_user(request), project_id, write=write or request.method == "POST")


def _page(
    request: HttpRequest, template: str, access: ProjectAccess, **context: Any
) -> HttpResponse:
    return render(request, template, {"project": access.project, "access": access, **context})


def _posted(request: HttpRequest) -> Any:
    # Bound on every POST, even an empty one, so a blank submit shows "This field is required."
    return request.POST if request.method == "POST" else None


def _wants_active(request: HttpRequest) -> bool:
    # The forms say the state they want, not "toggle": a double click or a resent form
    # leaves the state the owner saw on the button.
    return request.POST.get("active") == "1"


# --- Projects --------------------------------------------------------------------------------


def _accounts_current_first(request: HttpRequest, memberships: list[Membership]) -> list[Account]:
    """The user's accounts, the current one (the header's account menu) first."""
    current = current_account_id(request, [m.account_id for m in memberships])
    ordered = sorted(
        memberships,
        key=lambda m: (
            m.account_id != current,
            m.role != Membership.Role.OWNER,
            m.account.name.lower(),
            m.account_id,
        ),
    )
    return [m.account for m in ordered]


@login_required
@require_http_methods(GET_POST)
def project_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    memberships = list(
        Membership.objects.filter(user=user).select_related("account", "account__owner")
    )
    accounts = _accounts_current_first(request, memberships)
    writers = (Membership.Role.OWNER, Membership.Role.ADMIN)
    writable_ids = {m.account_id for m in memberships if m.role in writers}
    # Offered in the form with the current account first, so it is the one preselected.
    writable = [a for a in accounts if a.pk in writable_ids]
    form: NewProjectForm | None = None
    if request.method == "POST":
        if not writable:
            raise PermissionDenied("Viewers cannot create projects.")
        form = NewProjectForm(request.POST, accounts=writable)
        if form.is_valid():
            data = form.cleaned_data
            project = services.create_project(
                data["account"], data["name"], data["timezone"], data["currency"]
            )
            messages.success(
                request,
                _("Project “%(name)s” created. Next: add your website's domain.")
                % {"name": project.name},
            )
            return redirect("reports:overview", project.pk)
    elif writable:
        form = NewProjectForm(accounts=writable)
    projects: dict[int, list[Project]] = {}
    for project in visible_projects(user):
        projects.setdefault(project.account_id, []).append(project)
    # Every account of the user, with or without projects: one just switched to or created
    # shows up empty, with the form below preselecting it.
    groups = {account: projects.get(account.pk, []) for account in accounts}
    ctx = {
        "groups": groups,
        "has_projects": bool(projects),
        "form": form,
        # A viewer-only member is told why there is no form and whom to ask.
        "read_only": [m.account for m in memberships if m.role not in writers],
        "named_after_email": [
            a for a in accounts if a.pk in writable_ids and a.is_named_after_email
        ],
    }
    return render(request, "projects/list.html", ctx)


@login_required
@require_http_methods(GET_POST)
def project_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    project = access.project
    form = ProjectForm.for_project(project, _posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.update_project(project, data["name"], data["timezone"], data["currency"])
        messages.success(request, _("Settings saved."))
        return redirect("projects:settings", project.pk)
    delete_form = DeleteProjectForm(project=project)
    return _page(request, "projects/settings.html", access, form=form, delete_form=delete_form)


@login_required
@require_POST
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    project = access.project
    delete_form = DeleteProjectForm(request.POST, project=project)
    if delete_form.is_valid():
        name = project.name
        services.delete_project(project)
        messages.success(request, _("Project “%(name)s” deleted.") % {"name": name})
        return redirect("projects:list")
    form = ProjectForm.for_project(project)
    return _page(request, "projects/settings.html", access, form=form, delete_form=delete_form)


def _confirm_delete(
    request: HttpRequest,
    access: ProjectAccess,
    obj: Model,
    *,
    title: str,
    warning: str,
    back: str,
    delete: Callable[[], None],
    done: str,
) -> HttpResponse:
    """GET asks, POST deletes: a confirmation page that needs no JavaScript."""
    if request.method == "POST":
        delete()
        messages.success(request, done)
        return redirect(back, access.project.pk)
    return _page(
        request,
        "projects/confirm_delete.html",
        access,
        object=obj,
        title=title,
        warning=warning,
        back=back,
    )


# --- Domains ---------------------------------------------------------------------------------


def _domain_row(domain: Domain) -> dict[str, Any]:
    shown = display_host(domain.host)
    return {
        "domain": domain,
        "matches": describe_match(domain.host),
        "shown": shown,
        "punycode": domain.host if shown != domain.host else "",
    }


def _delete_warning(domain: Domain) -> str:
    """What deleting a domain changes for the API, told right when another active domain (a
    wildcard, usually) still covers some of its hosts."""
    others = domain.project.domains.filter(is_active=True).exclude(pk=domain.pk)
    kept = still_accepted(domain.host, others.values_list("host", flat=True))
    and_ = _(" and ")
    sentences = []
    covered = {host for hosts, _through in kept for host in hosts}
    if domain.host.startswith("*.") or is_ip_literal(domain.host):
        refused = [] if domain.host in covered else [domain.host]
    else:
        refused = [h for h in (domain.host, "www." + domain.host) if h not in covered]
    if refused:
        # All of it refused: the same words as the "Matches" column.
        matches = (
            describe_match(domain.host)
            if not covered & {domain.host, "www." + domain.host}
            else and_.join(display_host(h) for h in refused)
        )
        sentences.append(
            _("Orders and events sent from %(matches)s will be refused.") % {"matches": matches}
        )
    for hosts, through in kept:
        if hosts == [through]:
            sentences.append(
                _("%(host)s stays accepted: it is listed on its own.")
                % {"host": display_host(through)}
            )
        else:
            sentences.append(
                _("Orders and events from %(hosts)s will still be accepted through %(through)s.")
                % {
                    "hosts": and_.join(display_host(h) for h in hosts),
                    "through": display_host(through),
                }
            )
    return " ".join(sentences)


@login_required
@require_http_methods(GET_POST)
def domains(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    project = access.project
    form = DomainForm(_posted(request), project=project)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.add_domain(project, request.POST["domain"])
        except InvalidDomain as exc:  # a concurrent add of the same domain
            form.add_error("domain", _(str(exc)))
        else:
            messages.success(
                request,
                _("%(host)s added; it matches %(matches)s.")
                % {"host": display_host(domain.host), "matches": describe_match(domain.host)},
            )
            return redirect("projects:domains", project.pk)
    rows = [_domain_row(d) for d in project.domains.order_by("host")]
    return _page(request, "projects/domains.html", access, form=form, rows=rows)


@login_required
@require_POST
def domain_active(request: HttpRequest, project_id: int, domain_id: int) -> HttpResponse:
    access = _access(request, project_id)
    domain = get_object_or_404(Domain, project=access.project, pk=domain_id)
    services.set_domain_active(domain, _wants_active(request))
    if _is_htmx(request):
        return _page(request, "projects/_domain_row.html", access, row=_domain_row(domain))
    return redirect("projects:domains", project_id)


@login_required
@require_http_methods(GET_POST)
def domain_delete(request: HttpRequest, project_id: int, domain_id: int) -> HttpResponse:
    access = _access(request, project_id, write=True)
    domain = get_object_or_404(Domain, project=access.project, pk=domain_id)
    return _confirm_delete(
        request,
        access,
        domain,
        title=_("Delete the domain %(host)s?") % {"host": display_host(domain.host)},
        warning=_delete_warning(domain),
        back="projects:domains",
        delete=lambda: services.delete_domain(domain),
        done=_("Domain %(host)s deleted.") % {"host": domain.host},
    )


# --- API keys --------------------------------------------------------------------------------


SERVER_FORM_PREFIX = "server"


def _keys_page(
    request: HttpRequest,
    access: ProjectAccess,
    form: ApiKeyForm | None = None,
    server_form: ServerKeyForm | None = None,
) -> HttpResponse:
    return _page(
        request,
        "projects/keys.html",
        access,
        form=ApiKeyForm() if form is None else form,
        server_form=ServerKeyForm(prefix=SERVER_FORM_PREFIX)
        if server_form is None
        else server_form,
        keys=access.project.api_keys.order_by("id"),
    )


def _show_server_key_once(
    request: HttpRequest, access: ProjectAccess, key: ApiKey, raw: str, *, rotated: bool
) -> HttpResponse:
    """The one page that shows a server key's value: answered to the POST that made it, never
    stored (not in the session, not in a cache), so reloading the keys page never shows it."""
    return _page(
        request, "projects/server_key_shown.html", access, key=key, raw=raw, rotated=rotated
    )


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(GET_POST)
def keys(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    project = access.project
    form = ApiKeyForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        key = services.create_api_key(project, form.cleaned_data["name"])
        messages.success(
            request, _("API key “%(name)s” created. Copy it into your site.") % {"name": key.name}
        )
        return redirect("projects:keys", project.pk)
    return _keys_page(request, access, form=form)


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_POST
def server_key_create(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    form = ServerKeyForm(request.POST, prefix=SERVER_FORM_PREFIX)
    if not form.is_valid():
        return _keys_page(request, access, server_form=form)
    key, raw = services.create_server_key(access.project, form.cleaned_data["name"])
    return _show_server_key_once(request, access, key, raw, rotated=False)


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(GET_POST)
def server_key_rotate(request: HttpRequest, project_id: int, key_id: int) -> HttpResponse:
    access = _access(request, project_id, write=True)
    key = get_object_or_404(ApiKey, project=access.project, pk=key_id, kind=ApiKey.Kind.SERVER)
    if request.method == "POST":
        raw = services.rotate_server_key(key)
        return _show_server_key_once(request, access, key, raw, rotated=True)
    return _page(request, "projects/server_key_rotate.html", access, key=key)


@login_required
@require_POST
def key_active(request: HttpRequest, project_id: int, key_id: int) -> HttpResponse:
    access = _access(request, project_id)
    key = get_object_or_404(ApiKey, project=access.project, pk=key_id)
    services.set_key_active(key, _wants_active(request))
    if _is_htmx(request):
        return _page(request, "projects/_key_row.html", access, key=key)
    return redirect("projects:keys", project_id)


@login_required
@require_http_methods(GET_POST)
def key_delete(request: HttpRequest, project_id: int, key_id: int) -> HttpResponse:
    access = _access(request, project_id, write=True)
    key = get_object_or_404(ApiKey, project=access.project, pk=key_id)
    return _confirm_delete(
        request,
        access,
        key,
        title=_("Delete the API key “%(name)s”?") % {"name": key.name},
        warning=_("Sites using this key will get 401 Invalid API key from the next request."),
        back="projects:keys",
        delete=lambda: services.delete_api_key(key),
        done=_("API key “%(name)s” deleted.") % {"name": key.name},
    )


# --- Events ----------------------------------------------------------------------------------


def _records_url(project_id: int, event_id: int) -> str | None:
    # The records pages come from the events app; until they exist the count is plain text.
    try:
        return reverse("events:event_records", args=[project_id, event_id])
    except NoReverseMatch:
        return None


def _event_rows(project: Project, event_id: int | None = None) -> list[dict[str, Any]]:
    records = Count("records", filter=Q(records__spam=False))
    events = project.events.annotate(record_count=records).order_by("name", "id")
    if event_id is not None:
        events = events.filter(pk=event_id)
    return [{"event": e, "records_url": _records_url(project.pk, e.pk)} for e in events]


@login_required
@require_http_methods(GET_POST)
def events(request: HttpRequest, project_id: int) -> HttpResponse:
    access = _access(request, project_id)
    project = access.project
    form = EventForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            event = services.create_event(project, name)
        except services.DuplicateEvent:
            form.add_error("name", _("An event named “%(name)s” already exists.") % {"name": name})
        else:
            messages.success(
                request,
                _("Event “%(name)s” created; its key is %(key)s.")
                % {"name": event.name, "key": event.key},
            )
            return redirect("projects:events", project.pk)
    return _page(request, "projects/events.html", access, form=form, rows=_event_rows(project))


@login_required
@require_POST
def event_active(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    access = _access(request, project_id)
    event = get_object_or_404(Event, project=access.project, pk=event_id)
    services.set_event_active(event, _wants_active(request))
    if _is_htmx(request):
        (row,) = _event_rows(access.project, event.pk)
        return _page(request, "projects/_event_row.html", access, row=row)
    return redirect("projects:events", project_id)


@login_required
@require_http_methods(GET_POST)
def event_rename(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    access = _access(request, project_id, write=True)
    event = get_object_or_404(Event, project=access.project, pk=event_id)
    form = EventForm(_posted(request), initial={"name": event.name})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            services.rename_event(event, name)
        except services.DuplicateEvent:
            form.add_error("name", _("An event named “%(name)s” already exists.") % {"name": name})
        else:
            messages.success(request, _("Event renamed to “%(name)s”.") % {"name": name})
            return redirect("projects:events", project_id)
    return _page(request, "projects/event_rename.html", access, form=form, event=event)


@login_required
@require_http_methods(GET_POST)
def event_delete(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    access = _access(request, project_id, write=True)
    event = get_object_or_404(Event, project=access.project, pk=event_id)
    count = event.records.count()
    return _confirm_delete(
        request,
        access,
        event,
        title=_("Delete the event “%(name)s”?") % {"name": event.name},
        warning=ngettext(
            "Its %(count)s received record is deleted with it, and sites sending its key "
            "will get 401 Invalid event key.",
            "Its %(count)s received records are deleted with it, and sites sending its key "
            "will get 401 Invalid event key.",
            count,
        )
        % {"count": count},
        back="projects:events",
        delete=lambda: services.delete_event(event),
        done=_("Event “%(name)s” deleted.") % {"name": event.name},
    )


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(["GET"])
def event_form(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    """The event's form address and, for owners and admins, its builder webhook address."""
    access = _access(request, project_id)
    event = get_object_or_404(Event, project=access.project, pk=event_id)
    return _page(
        request,
        "projects/event_form.html",
        access,
        event=event,
        form_url=services.form_url(event),
        hook_url=services.hook_url(event) if access.can_write else None,
        records_url=_records_url(project_id, event.pk),
    )


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(GET_POST)
def event_form_rotate(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    """GET asks for confirmation, POST gives the event a new webhook token."""
    access = _access(request, project_id, write=True)
    event = get_object_or_404(Event, project=access.project, pk=event_id)
    if request.method == "POST":
        services.rotate_form_token(event)
        messages.success(
            request,
            _(
                "New webhook address issued. Paste it into your site builder: "
                "the old one no longer works."
            ),
        )
        return redirect("projects:event_form", project_id, event.pk)
    return _page(request, "projects/event_form_rotate.html", access, event=event)
