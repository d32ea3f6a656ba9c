"""The order list's export: one row per order, or one row per product line."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from orderreport.listing.export import EXPORT_CHUNK, Cell, local_time, pairs_text
from orderreport.listing.views import data_pairs
from orderreport.money import to_major
from orderreport.orders.models import Status
from orderreport.orders.queries import OrderFilters, filtered_orders

_COLUMNS = (
    "external_id",
    "received_at",
    "status",
    "total",
    "currency",
    "username",
    "email",
    "phone",
    "products",
    "data",
    "origin",
    "client_ip",
    "is_test",
)


def _whole(value: object) -> int:
    # As on the order page: a non-integer (a row edited by hand) counts as 0.
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _money(amount: int, currency: str) -> Decimal | str:
    try:
        return to_major(amount, currency)
    except (ValueError, KeyError):
        return str(amount)


def _products(products: object) -> list[tuple[str, int, int]]:
    """(name, price in minor units, count) of each product entry that is an object."""
    if not isinstance(products, list):
        return []
    return [
        (str(p.get("name", "")), _whole(p.get("price")), _whole(p.get("count")))
        for p in products
        if isinstance(p, dict)
    ]


def products_text(products: object, currency: str) -> str:
    """Products on one line: "Tea: 2 @ 5.00; Cup: 1 @ 12.50" (prices in major units)."""
    return "; ".join(
        f"{name}: {count} @ {_money(price, currency)}" for name, price, count in _products(products)
    )


def order_header(zone: ZoneInfo, lines: bool) -> list[str]:
    received = _("Received (%(zone)s)") % {"zone": zone.key}
    head = [_("Order"), received, _("Status")]
    if lines:
        head += [
            _("Currency"),
            _("Order total"),
            _("Product"),
            _("Price"),
            _("Count"),
            _("Line total"),
        ]
    else:
        head += [_("Total"), _("Currency"), _("Products")]
    return [
        *head,
        _("Customer"),
        _("E-mail"),
        _("Phone"),
        _("Data"),
        _("Origin"),
        _("Client address"),
        _("Test"),
    ]


def order_rows(
    project_id: int, filters: OrderFilters, zone: ZoneInfo, lines: bool
) -> Iterator[list[Cell]]:
    """The rows of the export, newest order first, read `EXPORT_CHUNK` at a time."""
    labels = dict(Status.choices)
    qs = filtered_orders(project_id, filters).order_by("-received_at", "-id").values_list(*_COLUMNS)
    for (
        ext_id,
        received,
        status,
        total,
        cur,
        name,
        email,
        phone,
        prods,
        data,
        origin,
        ip,
        is_test,
    ) in qs.iterator(chunk_size=EXPORT_CHUNK):
        head: list[Cell] = [ext_id, local_time(received, zone), str(labels.get(status, status))]
        tail: list[Cell] = [name, email, phone, pairs_text(data_pairs(data)), origin, ip or "",
                            _("yes") if is_test else ""]  # fmt: skip
        if not lines:
            yield [*head, _money(total, cur), cur, products_text(prods, cur), *tail]
            continue
        items = _products(prods)
        if not items:
            yield [*head, cur, _money(total, cur), "", "", "", "", *tail]
        for product, price, count in items:
            yield [
                *head,
                cur,
                _money(total, cur),
                product,
                _money(price, cur),
                count,
                _money(price * count, cur),
                *tail,
            ]
