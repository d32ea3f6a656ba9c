"""Dashboard pages of a project's orders: the list (with live updates), one order, deleting."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from orderreport.accounts.access import ProjectAccess, project_for
from orderreport.money import format_money
from orderreport.orders.forms import QUICK_CHOICES, OrderFilterForm
from orderreport.orders.models import Order
from orderreport.orders.queries import Cursor, newer_orders, order_page, project_zone

_TEL_JUNK = re.compile(r"[^\d]")


def fragment_login_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """login_required for htmx fragments: a redirect would be followed by htmx and the login
    page swapped into the table. Reloading the whole page leads to the login page instead."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return HttpResponse(headers={"HX-Refresh": "true"})
        return view(request, *args, **kwargs)

    return wrapper


def viewer_language() -> str:
    """The active language as a Babel locale name ("ru", "en_US")."""
    return translation.to_locale(translation.get_language() or "en")


def try_reverse(name: str, *args: Any) -> str | None:
    """A URL of a page another app may not provide yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def poll_url(request: HttpRequest, name: str, since: Cursor | None, *args: Any) -> str:
    """The fragment URL that fetches rows newer than `since`, with the page's filters.

    An empty list polls with since="" and reloads the page when the first row arrives.
    """
    params: QueryDict = request.GET.copy()
    params.pop("after", None)
    params["since"] = since.encode() if since else ""
    return f"{reverse(name, args=args)}?{params.urlencode()}"


def poll_newer(
    request: HttpRequest,
    filters_valid: bool,
    has_rows: Callable[[], bool],
    newer: Callable[[Cursor], list[Any]],
) -> list[Any] | HttpResponse:
    """The polling protocol of the order and record lists: the rows newer than `since`, or
    the answer instead of them (bad input 400, nothing new 204, reload the empty page)."""
    since_text = request.GET.get("since")
    if since_text is None or not filters_valid:
        return HttpResponse(_("Bad filter."), status=400, content_type="text/plain")
    if since_text == "":
        # The page showed the empty state: reload it whole once there is something to show.
        if has_rows():
            return HttpResponse(headers={"HX-Refresh": "true"})
        return HttpResponse(status=204)
    try:
        since = Cursor.decode(since_text)
    except ValueError:
        return HttpResponse(_("Bad cursor."), status=400, content_type="text/plain")
    rows = newer(since)
    # 204: htmx swaps nothing and the poller keeps its cursor.
    return rows or HttpResponse(status=204)


def tel_link(phone: str) -> str:
    """A tel: URI from what the customer typed: digits, with a leading + kept."""
    digits = _TEL_JUNK.sub("", phone)
    if not digits:
        return ""
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def is_web_url(url: object) -> bool:
    # The API accepts only http(s) image URLs; checked again because this becomes an <img src>.
    return isinstance(url, str) and url.lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class OrderRow:
    order: Order
    total: str


@dataclass(frozen=True)
class ProductLine:
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
    for p in order.products or []:
        if not isinstance(p, dict):
            continue
        price, count = _whole(p.get("price")), _whole(p.get("count"))
        lines.append(
            ProductLine(
                name=str(p.get("name", "")),
                image=p["image"] if is_web_url(p.get("image")) else "",
                count=count,
                price=format_money(price, order.currency, language),
                line_total=format_money(price * count, order.currency, language),
            )
        )
    return lines


def data_pairs(data: object) -> list[tuple[str, str]]:
    if not isinstance(data, list):
        return []
    return [(str(d.get("name", "")), str(d.get("value", ""))) for d in data if isinstance(d, dict)]


def _project_context(access: ProjectAccess, zone: ZoneInfo) -> dict[str, Any]:
    return {"project": access.project, "access": access, "zone": zone}


@login_required
@require_GET
def order_list(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    project = access.project
    zone = project_zone(project.timezone)
    form = OrderFilterForm(request.GET, zone=zone)
    ctx = _project_context(access, zone)
    ctx.update(
        form=form,
        quick_choices=QUICK_CHOICES,
        integration_url=try_reverse("projects:integration", project.pk),
    )
    if not form.is_valid():
        return render(request, "orders/list.html", ctx, status=400)
    after = form.cleaned_data["after"]
    filters = form.filters()
    page = order_page(project.pk, filters, after)
    live = after is None and (filters.period.end is None or filters.period.end > timezone.now())
    ctx.update(
        rows=order_rows(page.rows),
        next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        paged=after is not None,
        filtered=form.is_filtered(),
        poll=poll_url(request, "orders:newer", page.newest, project.pk) if live else None,
    )
    return render(request, "orders/list.html", ctx)


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


@login_required
@require_GET
def order_detail(request: HttpRequest, project_id: int, order_pk: int) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    order = get_object_or_404(Order, project=access.project, pk=order_pk)
    ctx = _project_context(access, project_zone(access.project.timezone))
    ctx.update(
        order=order,
        total=format_money(order.total, order.currency, viewer_language()),
        products=product_lines(order),
        pairs=data_pairs(order.data),
        tel=tel_link(order.phone),
    )
    return render(request, "orders/detail.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def order_delete(request: HttpRequest, project_id: int, order_pk: int) -> HttpResponse:
    """GET asks for confirmation, POST deletes. Owners and admins only."""
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    order = get_object_or_404(Order, project=access.project, pk=order_pk)
    if request.method == "POST":
        external_id = order.external_id
        order.delete()
        messages.success(request, _("Order %(id)s deleted.") % {"id": external_id})
        return redirect("orders:list", access.project.pk)
    ctx = _project_context(access, project_zone(access.project.timezone))
    ctx.update(order=order, total=format_money(order.total, order.currency, viewer_language()))
    return render(request, "orders/delete.html", ctx)
