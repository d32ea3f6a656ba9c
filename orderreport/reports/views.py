"""The overview pages: a project's (its landing page) and an account's, all projects together."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from orderreport.accounts.access import membership_for, project_for
from orderreport.accounts.context_processors import current_account_id
from orderreport.accounts.models import Membership, User
from orderreport.listing.queries import project_zone
from orderreport.listing.views import try_reverse, viewer_language
from orderreport.orders.models import Order
from orderreport.projects.models import Project
from orderreport.reports import overview
from orderreport.reports.figures import report
from orderreport.reports.forms import PERIODS, PeriodForm

READ = ["GET", "HEAD"]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _show(
    request: HttpRequest,
    template: str,
    form: PeriodForm,
    project_ids: list[int],
    context: dict[str, Any],
    project_names: dict[int, str] | None = None,
) -> HttpResponse:
    context.update(form=form, periods=PERIODS)
    if not form.is_valid():
        # Figures of some other period than the one asked for would mislead: none at all.
        context["zone"] = form.default_zone
        return render(request, template, context, status=400)
    period = form.chosen_period()
    figures = report(project_ids, period)
    context.update(
        zone=period.zone,
        period=period,
        quick=form.quick,
        page=overview.build(figures, viewer_language(), project_names),
    )
    return render(request, template, context)


@login_required
@require_http_methods(READ)
def project_overview(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_for(_user(request), project_id)
    project = access.project
    form = PeriodForm(request.GET, zone=project_zone(project.timezone))
    context: dict[str, Any] = {
        "project": project,
        "access": access,
        "orders_url": reverse("orders:list", args=[project.pk]),
        "integration_url": try_reverse("projects:integration", project.pk),
        "events_url": try_reverse("projects:events", project.pk),
        "ever_ordered": Order.objects.filter(project=project).exists(),
    }
    return _show(request, "reports/project_overview.html", form, [project.pk], context)


@login_required
@require_http_methods(READ)
def account_overview(request: HttpRequest, account_id: int) -> HttpResponse:
    membership = membership_for(_user(request), account_id)
    account = membership.account
    projects = list(Project.objects.filter(account=account).order_by("name", "pk"))
    zones = Counter(project_zone(p.timezone).key for p in projects)
    # The zone most of the projects use (ties: alphabetical), then the others, and UTC.
    ordered = sorted(zones, key=lambda z: (-zones[z], z))
    default = ordered[0] if ordered else "UTC"
    choices = ordered + ([] if "UTC" in zones else ["UTC"])
    form = PeriodForm(request.GET, zone=project_zone(default), zones=choices)
    context: dict[str, Any] = {"account": account, "projects": projects}
    names = {p.pk: p.name for p in projects}
    return _show(
        request,
        "reports/account_overview.html",
        form,
        [p.pk for p in projects],
        context,
        project_names=names,
    )


@login_required
@require_http_methods(READ)
def current_account_overview(request: HttpRequest) -> HttpResponse:
    """/overview/: the overview of the account the user was last looking at."""
    ids = list(
        Membership.objects.filter(user=_user(request))
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )
    account_id = current_account_id(request, ids)
    if account_id is None:
        raise Http404("No account")
    target = reverse("reports:account_overview", args=[account_id])
    query = request.GET.urlencode()
    return redirect(f"{target}?{query}" if query else target)
