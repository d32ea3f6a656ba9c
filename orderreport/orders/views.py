"""Dashboard pages of a project's orders: the list (with live updates), one order, changing
its status, deleting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orderreport.accounts.access import ProjectAccess, project_for
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
    viewer_language,
)
from orderreport.money import format_money
from orderreport.orders.export import order_header
from orderreport.orders.export import order_rows as export_rows
from orderreport.orders.forms import OrderFilterForm, StatusForm
from orderreport.orders.models import Order, StatusChange
from orderreport.orders.queries import newer_orders, order_currencies, order_page, order_total
from orderreport.orders.services import change_status, delete_order

_TEL_JUNK = re.compile(r"[^\d]")


def tel_link(phone: str) -> str:
    """A tel: URI from what the customer typed: digits, with a leading + kept."""
    digits = _TEL_JUNK.sub("", phone)
    if not digits:
        return ""
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def is_web_url(url: object) -> bool:
    # The API accepts only http(s) image URLs; checked again because this becomes a link.
    return isinstance(url, str) and url.lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class OrderRow:
    order: Order
    total: str


@dataclass(frozen=True)
class ProductLine:
    index: int  # the product's place in the stored order: the picture's URL names it
    name: str
    image: str
    count: int
    price: str
    line_total: str


def _whole(value: object) -> int:
    # The API stores integers; anything else (a row edited by hand) shows as 0, not a 500.
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def order_rows(orders: list[Order]) -> list[OrderRow]:
    language = viewer_language()
    return [OrderRow(o, format_money(o.total, o.currency, language)) for o in orders]


def product_lines(order: Order) -> list[ProductLine]:
    language = viewer_language()
    lines = []
    for index, p in enumerate(order.products or []):
        if not isinstance(p, dict):
            continue
        price, count = _whole(p.get("price")), _whole(p.get("count"))
        lines.append(
            ProductLine(
                index=index,
                name=str(p.get("name", "")),
                image=p["image"] if is_web_url(p.get("image")) else "",
                count=count,
                price=format_money(price, order.currency, language),
                line_total=format_money(price * count, order.currency, language),
            )
        )
    return lines


def _project_context(access: ProjectAccess, zone: ZoneInfo) -> dict[str, Any]:
    return {"project": access.project, "access": access, "zone": zone}


@login_required
@require_GET
def order_list(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    zone = project_zone(project.timezone)
    form = OrderFilterForm(request.GET, zone=zone, currencies=order_currencies(project.pk))
    ctx = _project_context(access, zone)
    ctx.update(
        form=form,
        quick_choices=QUICK_CHOICES,
        integration_url=try_reverse("projects:integration", project.pk),
    )
    if not form.is_valid():
        return render(request, "orders/list.html", ctx, status=400)
    after, before = form.cleaned_data["after"], form.cleaned_data["before"]
    filters = form.filters()
    page = order_page(project.pk, filters, after, before=before)
    # The first page polls for newer orders (also when a link back one page led to it).
    live = not page.has_previous and (
        filters.period.end is None or filters.period.end > timezone.now()
    )
    ctx.update(
        rows=order_rows(page.rows),
        next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        paged=page.has_previous,
        pager=pager(page, order_total(project.pk, filters)),
        filtered=form.is_filtered(),
        poll=poll_url(request, "orders:newer", page.newest, project.pk) if live else None,
        export_url=reverse("orders:export", args=[project.pk]),
        export_query=export_query(request.GET),
    )
    return render(request, "orders/list.html", ctx)


@login_required
@require_GET
def order_export(request: HttpRequest, project_id: int) -> HttpResponseBase:
    """The list's orders with its filters, as CSV or XLSX; every member may export."""
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    zone = project_zone(project.timezone)
    form = OrderFilterForm(request.GET, zone=zone)
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS or not form.is_valid():
        return HttpResponse(_("Bad filter."), status=400, content_type="text/plain")
    lines = request.GET.get("lines") == "1"
    return export_response(
        fmt,
        filename("orders", project.name, project.pk),
        order_header(zone, lines),
        export_rows(project.pk, form.filters(), zone, lines),
    )


@fragment_login_required
@require_GET
def order_list_newer(request: HttpRequest, project_id: int) -> HttpResponse:
    """The polling fragment: rows newer than `since`, then the poller that asks for the next."""
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    zone = project_zone(project.timezone)
    form = OrderFilterForm(request.GET, zone=zone)
    orders = poll_newer(
        request,
        form.is_valid(),
        lambda: bool(order_page(project.pk, form.filters(), size=1).rows),
        lambda since: newer_orders(project.pk, form.filters(), since),
    )
    if isinstance(orders, HttpResponse):
        return orders
    ctx = _project_context(access, zone)
    ctx.update(
        rows=order_rows(orders),
        poll=poll_url(request, "orders:newer", Cursor.of(orders[0]), project.pk),
        fresh=True,
    )
    return render(request, "orders/_rows.html", ctx)


@dataclass(frozen=True)
class HistoryStep:
    change: StatusChange
    by: str


def changed_by(change: StatusChange) -> str:
    """Who made a step: the API, a member by name (or e-mail), or a member since removed."""
    if change.source == StatusChange.Source.API:
        return _("via the API")
    user = change.changed_by
    if user is None:
        return _("by a former member")
    return _("by %(name)s") % {"name": user.get_full_name() or user.email}


def status_history(order: Order) -> list[HistoryStep]:
    changes = order.status_changes.select_related("changed_by").order_by("changed_at", "id")
    return [HistoryStep(c, changed_by(c)) for c in changes]


def _detail(
    request: HttpRequest, access: ProjectAccess, order: Order, form: StatusForm | None = None
) -> HttpResponse:
    ctx = _project_context(access, project_zone(access.project.timezone))
    if access.can_write and form is None:
        form = StatusForm(initial={"status": order.status})
    ctx.update(
        order=order,
        total=format_money(order.total, order.currency, viewer_language()),
        products=product_lines(order),
        pairs=data_pairs(order.data),
        tel=tel_link(order.phone),
        status_form=form if access.can_write else None,
        history=status_history(order),
        # "proxy": pictures through the app (notify/images.py); "off": a link to each.
        proxy_images=settings.PRODUCT_IMAGES == "proxy",
    )
    return render(request, "orders/detail.html", ctx, status=400 if form and form.errors else 200)


@login_required
@require_GET
def order_detail(request: HttpRequest, project_id: int, order_pk: int) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    order = get_object_or_404(Order, project=access.project, pk=order_pk)
    return _detail(request, access, order)


@login_required
@require_POST
def order_status(request: HttpRequest, project_id: int, order_pk: int) -> HttpResponse:
    """Move the order to the posted status. Owners and admins only (viewers 403)."""
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    order = get_object_or_404(Order, project=access.project, pk=order_pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _detail(request, access, order, form)
    change = change_status(order, form.cleaned_data["status"], by_user=request.user)  # type: ignore[arg-type]
    label = order.get_status_display()
    if change is None:
        messages.info(request, _("The order's status is already “%(status)s”.") % {"status": label})
    else:
        messages.success(request, _("Status changed to “%(status)s”.") % {"status": label})
    return redirect("orders:detail", access.project.pk, order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def order_delete(request: HttpRequest, project_id: int, order_pk: int) -> HttpResponse:
    """GET asks for confirmation, POST deletes. Owners and admins only."""
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    order = get_object_or_404(Order, project=access.project, pk=order_pk)
    if request.method == "POST":
        external_id = order.external_id
        delete_order(order)
        messages.success(request, _("Order %(id)s deleted.") % {"id": external_id})
        return redirect("orders:list", access.project.pk)
    ctx = _project_context(access, project_zone(access.project.timezone))
    ctx.update(order=order, total=format_money(order.total, order.currency, viewer_language()))
    return render(request, "orders/delete.html", ctx)
