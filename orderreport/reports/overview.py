"""What the overview pages show of a Report: its figures formatted for the reader, with the
previous period beside them, and the chart's data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date, format_interval, format_skeleton, format_time
from babel.numbers import format_decimal, format_percent
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orderreport.money import format_money, to_major
from orderreport.orders.models import Status
from orderreport.reports.figures import Money, Period, Point, Report, change

DASH = "—"
MINUS = "\u2212"  # a typographic minus, as wide as the plus sign


@dataclass(frozen=True)
class Figure:
    """One number of the period, the same number of the previous period and the change."""

    label: str
    value: str
    previous: str
    change: str  # "+12 %", "\u22128 %" (a minus sign), or "" where there is nothing to compare
    trend: str  # "up", "down", "flat" or ""


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    figures: list[Figure]
    # Cancelled and refunded orders ("2 orders, 8 850,00 ₽"); "" when neither period has any.
    cancelled: str
    cancelled_before: str


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[str]


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[Row]
    footer: list[Row] = field(default_factory=list)


@dataclass
class Overview:
    period_label: str
    step_label: str  # "Hour" or "Day" (or week, month): the series' first column
    currencies: list[CurrencyFigures]
    leads: Figure
    leads_per_order: str  # "" unless both leads and orders exist
    series: Table
    chart: dict[str, Any]
    statuses: Table
    top_products: list[tuple[Table, Table]]  # by revenue and by quantity, per currency
    events: Table | None
    hourly: bool
    has_leads: bool


class Formats:
    """Numbers, money, dates and times in the reader's locale (a Babel name: "ru", "en")."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def ratio(self, value: float) -> str:
        return format_decimal(round(value, 2), format="#,##0.##", locale=self.locale)

    def money(self, amount: int | None, currency: str) -> str:
        return DASH if amount is None else format_money(amount, currency, self.locale)

    def change(self, current: int | None, previous: int | None) -> tuple[str, str]:
        percent = change(current, previous)
        if percent is None:
            return "", ""
        text = format_percent(abs(percent) / 100, locale=self.locale)
        if round(percent) == 0:
            return text, "flat"
        return ("+" if percent > 0 else MINUS) + text, ("up" if percent > 0 else "down")

    def day(self, day: dt.date) -> str:
        return format_skeleton("MMMEd", day, locale=self.locale)

    def period(self, period: Period) -> str:
        if period.first == period.last:
            return format_date(period.first, format="long", locale=self.locale)
        return format_interval(period.first, period.last, "yMMMd", locale=self.locale)

    def step(self, point: Point, days: int) -> str:
        if point.group == "hour":
            time = format_time(point.start, format="short", locale=self.locale)
            if days == 1:
                return time
            return f"{format_skeleton('MMMd', point.start.date(), locale=self.locale)}, {time}"
        if point.group == "week":
            return _("Week of %(day)s") % {"day": self.day(point.start.date())}
        if point.group == "month":
            return format_skeleton("yMMMM", point.start.date(), locale=self.locale)
        return self.day(point.start.date())


def _figure(
    f: Formats, label: str, current: int | None, previous: int | None, show: Any = None
) -> Figure:
    show = show or f.number
    change_text, trend = f.change(current, previous)
    return Figure(
        label=label,
        value=DASH if current is None else show(current),
        previous=DASH if previous is None else show(previous),
        change=change_text,
        trend=trend,
    )


def currency_figures(f: Formats, now: Money, before: Money) -> CurrencyFigures:
    def money(amount: int) -> str:
        return f.money(amount, now.currency)

    def cancelled(m: Money) -> str:
        return ngettext(
            "%(count)s order, %(total)s", "%(count)s orders, %(total)s", m.cancelled_orders
        ) % {"count": f.number(m.cancelled_orders), "total": money(m.cancelled_total)}

    return CurrencyFigures(
        currency=now.currency,
        figures=[
            _figure(f, _("Revenue"), now.revenue, before.revenue, money),
            _figure(f, _("Orders"), now.orders, before.orders),
            _figure(f, _("Average order value"), now.average, before.average, money),
            _figure(f, _("Items sold"), now.items, before.items),
        ],
        cancelled=cancelled(now) if now.cancelled_orders or before.cancelled_orders else "",
        cancelled_before=cancelled(before) if before.cancelled_orders else DASH,
    )


def _labels(f: Formats, report: Report) -> list[str]:
    labels = [f.step(point, report.period.days) for point in report.series]
    # The repeated hour of a DST change would read twice the same: name each one's offset.
    seen = Counter(labels)
    return [
        f"{label} ({point.start.tzname()})" if seen[label] > 1 else label
        for label, point in zip(labels, report.series, strict=True)
    ]


def build(report: Report, locale: str, project_names: dict[int, str] | None = None) -> Overview:
    """The page's figures; `project_names` (account overview) names each event's project."""
    f = Formats(locale)
    currencies = report.currencies
    labels = _labels(f, report)
    step_label = {
        "hour": _("Hour"),
        "day": _("Day"),
        "week": _("Week"),
        "month": _("Month"),
    }[report.group]

    series_headers = [step_label]
    for currency in currencies:
        series_headers += [
            _("Revenue, %(currency)s") % {"currency": currency},
            _("Orders, %(currency)s") % {"currency": currency},
        ]
    series_headers.append(_("Leads"))
    series_rows = []
    for label, point in zip(labels, report.series, strict=True):
        cells = []
        for currency in currencies:
            money = point.of(currency)
            cells += [f.money(money.revenue, currency), f.number(money.orders)]
        cells.append(f.number(point.leads))
        series_rows.append(Row(label, cells))
    total_cells = []
    for money in report.money:
        total_cells += [f.money(money.revenue, money.currency), f.number(money.orders)]
    total_cells.append(f.number(report.leads))
    series = Table(
        caption=(
            _("Revenue, orders and leads by hour, %(period)s")
            if report.group == "hour"
            else _("Revenue, orders and leads by day, %(period)s")
        )
        % {"period": f.period(report.period)},
        headers=series_headers,
        rows=series_rows,
        footer=[Row(_("Total"), total_cells)],
    )

    def major(amount: int, currency: str) -> float:
        return float(to_major(amount, currency))

    chart = {
        "labels": labels,
        "currencies": [
            {
                "code": currency,
                "title": _("Revenue and orders, %(currency)s") % {"currency": currency},
                "revenue": [major(p.of(currency).revenue, currency) for p in report.series],
                "revenueText": [f.money(p.of(currency).revenue, currency) for p in report.series],
                "orders": [p.of(currency).orders for p in report.series],
            }
            for currency in currencies
        ],
        "leads": [p.leads for p in report.series],
        "text": {"revenue": _("Revenue"), "orders": _("Orders"), "leads": _("Leads")},
    }

    statuses = Table(
        caption=_("Orders by status now"),
        headers=[_("Status"), _("Currency"), _("Orders"), _("Amount")],
        rows=[
            Row(
                str(Status(s.status).label) if s.status in Status.values else s.status,
                [s.currency, f.number(s.orders), f.money(s.total, s.currency)],
            )
            for s in report.statuses
        ],
    )

    def products(caption: str, currency: str, items: list[Any]) -> Table:
        return Table(
            caption=f"{caption}, {currency}",
            headers=[_("Product"), _("Revenue"), _("Quantity")],
            rows=[
                Row(p.name or DASH, [f.money(p.revenue, p.currency), f.number(p.quantity)])
                for p in items
                if p.currency == currency
            ],
        )

    # Each currency's products are ranked among themselves: a pair of tables per currency.
    sold = list(dict.fromkeys(p.currency for p in report.top_by_revenue + report.top_by_quantity))
    sold.sort(key=lambda c: currencies.index(c) if c in currencies else len(currencies))
    top_products = [
        (
            products(_("Top products by revenue"), c, report.top_by_revenue),
            products(_("Top products by quantity"), c, report.top_by_quantity),
        )
        for c in sold
    ]

    events = None
    if report.events:
        names = [
            e.name
            if project_names is None
            else f"{e.name} · {project_names.get(e.project_id, DASH)}"
            for e in report.events
        ]
        events = Table(
            caption=_("Leads by event key and day"),
            headers=[_("Day"), *names],
            rows=[
                Row(f.day(day), [f.number(e.by_day[n]) for e in report.events])
                for n, day in enumerate(report.days)
            ],
            footer=[
                Row(_("Total"), [f.number(e.total) for e in report.events]),
                Row(_("Previous period"), [f.number(e.previous) for e in report.events]),
            ],
        )

    # A currency sold only in the previous period still gets its cards: a drop to nothing.
    shown = report.money + [Money(c) for c in sorted(report.previous) if c not in currencies]
    ratio = report.leads_per_order
    return Overview(
        period_label=f.period(report.period),
        step_label=step_label,
        currencies=[currency_figures(f, m, report.previous_of(m.currency)) for m in shown],
        leads=_figure(f, _("Leads"), report.leads, report.previous_leads),
        leads_per_order=f.ratio(ratio) if ratio is not None else "",
        series=series,
        chart=chart,
        statuses=statuses,
        top_products=top_products,
        events=events,
        hourly=report.group == "hour",
        has_leads=report.leads > 0,
    )
