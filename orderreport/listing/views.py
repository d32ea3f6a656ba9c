"""View helpers every list page uses: htmx-aware login, polling for newer rows, data pairs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from babel.numbers import format_decimal
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from orderreport.listing.queries import Cursor, Page, Total


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


@dataclass(frozen=True)
class Pager:
    """What a list says under its rows: "1-50 of 1,234", and where the link one page back goes
    (`back` is the `before` cursor; "" for the first page; None when this is the first page)."""

    text: str
    back: str | None


def _number(n: int) -> str:
    return format_decimal(n, locale=viewer_language())


def pager(page: Page[Any], total: Total) -> Pager:
    """The count line and the back link of a list page."""
    if page.has_previous:
        back: str | None = page.previous_cursor.encode() if page.previous_cursor else ""
    else:
        back = None
    if not page.rows:
        return Pager("", back)
    values = {"total": _number(total.count)}
    if page.offset is None:
        # More than EXACT_UP_TO rows come before this page: its position is not counted.
        values["first"] = _number(total.cap)
        if total.kind == "about":
            text = _("Past the first %(first)s of about %(total)s") % values
        else:
            text = _("Past the first %(first)s") % values
        return Pager(text, back)
    values["first"] = _number(page.offset + 1)
    values["last"] = _number(page.offset + len(page.rows))
    if total.kind == "exact":
        text = _("%(first)s–%(last)s of %(total)s") % values  # noqa: RUF001 (a range)
    elif total.kind == "about":
        text = _("%(first)s–%(last)s of about %(total)s") % values  # noqa: RUF001 (a range)
    else:
        text = _("%(first)s–%(last)s of more than %(total)s") % values  # noqa: RUF001 (a range)
    return Pager(text, back)


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
    params.pop("before", None)
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


def data_pairs(data: object) -> list[tuple[str, str]]:
    """A row's `data` as (name, value) pairs; entries of another shape (rows edited by hand)
    are left out rather than failing the page."""
    if not isinstance(data, list):
        return []
    return [(str(d.get("name", "")), str(d.get("value", ""))) for d in data if isinstance(d, dict)]
