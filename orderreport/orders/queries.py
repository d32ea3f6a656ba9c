"""The order list's queries: filters, and pages through orderreport.listing's keyset pagination.

Pages walk the index `order_project_recent` (project, -received_at, -id), newest first, or
`order_project_currency` / `order_project_status` when filtered by currency or status; the
text search has its own trigram index (SearchText).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, F, Func, QuerySet, TextField

from orderreport.listing.queries import (
    PAGE_SIZE,
    Cursor,
    Page,
    Period,
    Total,
    in_period,
    keyset_newer,
    keyset_page,
    list_total,
)
from orderreport.orders.models import Order


@dataclass(frozen=True)
class OrderFilters:
    period: Period = field(default_factory=Period)
    currency: str = ""
    status: str = ""
    text: str = ""
    # The integration page's test orders: "" shown, "hide" left out, "only" nothing else.
    test: str = ""


class SearchText(Func):
    """The text the order search looks in: id, name, e-mail and phone in one string.

    Migration 0002 builds a trigram index over UPPER((this)::text) on PostgreSQL (what
    icontains compares), so a search for a rare string does not read every order of the
    project. The separator is written into the SQL, not passed as a parameter, so the query's
    expression is character for character the indexed one. Change both together.
    """

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self) -> None:
        # The columns are NOT NULL, so no COALESCE is needed (Concat would add them).
        super().__init__(F("external_id"), F("username"), F("email"), F("phone"))


def filtered_orders(project_id: int, filters: OrderFilters) -> QuerySet[Order]:
    qs = Order.objects.filter(project_id=project_id).filter(in_period(filters.period))
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    if filters.status:
        # Walks the index order_project_status (project, status, -received_at, -id).
        qs = qs.filter(status=filters.status)
    if filters.test:
        # No index of its own: test orders are few, and the other conditions walk an index.
        qs = qs.filter(is_test=filters.test == "only")
    if filters.text:
        # icontains is UPPER(expression) LIKE UPPER('%text%') on PostgreSQL: the trigram
        # index is built on that UPPER(...). SQLite's LIKE ignores case for ASCII only.
        qs = qs.alias(search=SearchText()).filter(search__icontains=filters.text)
    return qs


# More than ISO 4217 has codes: a bound on the walk below, whatever the table holds.
_MAX_CURRENCIES = 400


def order_currencies(project_id: int) -> list[str]:
    """The currencies the project has orders in, sorted.

    One index probe per currency on order_project_currency (a loose index scan): DISTINCT
    would read every order of the project, and a busy one has millions.
    """
    found: list[str] = []
    rows = Order.objects.filter(project_id=project_id).order_by("currency")
    while len(found) < _MAX_CURRENCIES:
        after = rows.filter(currency__gt=found[-1]) if found else rows
        code = after.values_list("currency", flat=True).first()
        if code is None:
            break
        found.append(code)
    return found


def order_page(
    project_id: int,
    filters: OrderFilters,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
    before: Cursor | None = None,
) -> Page[Order]:
    return keyset_page(
        list_rows(filtered_orders(project_id, filters)), after, size, before, positions=True
    )


def order_total(project_id: int, filters: OrderFilters) -> Total:
    """How many orders the list has; estimated above EXACT_UP_TO when it is not filtered."""
    return list_total(filtered_orders(project_id, filters), estimate=filters == OrderFilters())


def newer_orders(project_id: int, filters: OrderFilters, since: Cursor) -> list[Order]:
    return keyset_newer(list_rows(filtered_orders(project_id, filters)), since)


class ItemCount(Func):
    """How many items an order holds (the sum of its products' counts), computed in the
    database so that the list never loads the products themselves."""

    output_field = BigIntegerField()

    def __init__(self) -> None:
        super().__init__(F("products"))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            # Defensive about shapes the API never stores (rows edited by hand, old data):
            # a list page must not fail on one odd row.
            template="(SELECT COALESCE(SUM((p.value ->> 'count')::numeric), 0)::bigint "
            "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
            "THEN %(expressions)s ELSE '[]'::jsonb END) AS p "
            "WHERE jsonb_typeof(p.value -> 'count') = 'number')",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(SELECT CAST(COALESCE(SUM(json_extract(p.value, '$.count')), 0) AS INTEGER) "
            "FROM json_each(%(expressions)s) AS p WHERE p.type = 'object' "
            "AND json_type(p.value, '$.count') IN ('integer', 'real'))",
            **extra,
        )


def list_rows(qs: QuerySet[Order]) -> QuerySet[Order]:
    """What the list shows of each order: the big JSON and text columns stay in the table."""
    return qs.defer("products", "data", "user_agent", "origin").annotate(items=ItemCount())
