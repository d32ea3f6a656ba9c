"""The orders' tallies (orderreport/tally.py): what an order adds to them, kept in step.

An order adds to OrderTally (its quarter-hour slot, currency and status: one order, its total, its
items) and, unless cancelled or refunded, to ProductTally (its UTC day, currency and each
product's name: the count and price x count). The write side adds new orders with its own
statements (ingest/postgres.py, ingest/sqlite.py); this module is for the rest of an order's
life: a status change, an update and a delete each take the old contribution away and add
the new one, inside the transaction that changes the order.

A test order (`is_test`, the integration page's button) adds nothing, ever: not when it is
tracked, not when it changes or goes, not in a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import transaction

from orderreport import tally
from orderreport.orders.models import UNCOUNTED, Order, OrderTally, ProductTally

# What an order's contribution depends on; nothing else changes its tallies.
FIELDS = ("project_id", "received_at", "currency", "status", "total", "products", "is_test")


class Contribution(NamedTuple):
    project_id: int
    received_at: dt.datetime
    currency: str
    status: str
    total: int
    products: Any
    is_test: bool


def of(order: Order) -> Contribution:
    return Contribution(*(getattr(order, name) for name in FIELDS))


def product_lines(products: Any) -> list[tuple[str, int, int]]:
    """(name, count, price x count) of each valid product line."""
    lines = []
    for product in products if isinstance(products, list) else ():
        if isinstance(product, dict) and isinstance(product.get("name"), str):
            count, price = product.get("count"), product.get("price")
            if isinstance(count, int) and isinstance(price, int):
                lines.append((product["name"], count, price * count))
    return lines


def items_of(products: Any) -> int:
    return sum(count for _name, count, _revenue in product_lines(products))


def _rows(c: Contribution, sign: int) -> tuple[OrderTally, list[ProductTally]]:
    order_row = OrderTally(
        project_id=c.project_id,
        slot=tally.slot_of(c.received_at),
        currency=c.currency,
        status=c.status,
        orders=sign,
        revenue=sign * c.total,
        items=sign * items_of(c.products),
    )
    if c.status in UNCOUNTED:
        return order_row, []
    day = c.received_at.astimezone(dt.UTC).date()
    products = [
        ProductTally(project_id=c.project_id, day=day, currency=c.currency, name=name,
                     quantity=sign * count, revenue=sign * revenue)
        for name, count, revenue in product_lines(c.products)
    ]  # fmt: skip
    return order_row, products


def change(before: Contribution | None, after: Contribution | None) -> None:
    """Move an order's contribution from `before` to `after` (None: not there)."""
    if before == after:
        return
    orders: list[OrderTally] = []
    products: list[ProductTally] = []
    for contribution, sign in ((before, -1), (after, 1)):
        if contribution is not None and not contribution.is_test:
            order_row, product_rows = _rows(contribution, sign)
            orders.append(order_row)
            products.extend(product_rows)
    OrderTally.objects.bulk_create(orders)
    ProductTally.objects.bulk_create(products, batch_size=500)


def compact(limit: int = 2000) -> int:
    """Compact both order tallies (the worker calls this); rows removed."""
    removed = tally.compact(
        OrderTally, ("project_id", "slot"), ("currency", "status"), ("orders", "revenue", "items"),
        limit,
    )  # fmt: skip
    return removed + tally.compact(
        ProductTally, ("project_id", "day"), ("currency", "name"), ("quantity", "revenue"), limit
    )


def rebuild(project_ids: Sequence[int] | None = None, chunk: int = 2000) -> int:
    """Recompute the tallies of these projects (all when None) from their orders.

    For orders stored before tallies existed (the migration) and for repairs. One
    transaction; on PostgreSQL the order table is locked against writes meanwhile (SHARE
    mode), so no order is counted twice or missed: tracking and status changes wait, and
    past their lock timeout answer 503 (clients retry). Answers how many orders it counted.
    """
    with transaction.atomic():
        tally.lock_against_writes(Order)
        return _rebuild(project_ids, chunk)


def _rebuild(project_ids: Sequence[int] | None, chunk: int) -> int:
    orders = Order.objects.filter(is_test=False)
    tallies = OrderTally.objects.all()
    product_tallies = ProductTally.objects.all()
    if project_ids is not None:
        orders = orders.filter(project_id__in=project_ids)
        tallies = tallies.filter(project_id__in=project_ids)
        product_tallies = product_tallies.filter(project_id__in=project_ids)
    tallies.delete()
    product_tallies.delete()
    order_sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    product_sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    counted = 0
    for values in orders.order_by().values_list(*FIELDS).iterator(chunk_size=chunk):
        c = Contribution(*values)
        counted += 1
        acc = order_sums[c.project_id, tally.slot_of(c.received_at), c.currency, c.status]
        acc[0] += 1
        acc[1] += c.total
        acc[2] += items_of(c.products)
        if c.status not in UNCOUNTED:
            day = c.received_at.astimezone(dt.UTC).date()
            for name, count, revenue in product_lines(c.products):
                p = product_sums[c.project_id, day, c.currency, name]
                p[0] += count
                p[1] += revenue
    _create(OrderTally, ("project_id", "slot", "currency", "status"),
            ("orders", "revenue", "items"), order_sums.items())  # fmt: skip
    _create(ProductTally, ("project_id", "day", "currency", "name"),
            ("quantity", "revenue"), product_sums.items())  # fmt: skip
    return counted


def _create(
    model: Any,
    keys: tuple[str, ...],
    sums: tuple[str, ...],
    items: Iterable[tuple[tuple[Any, ...], list[int]]],
) -> None:
    batch: list[Any] = []
    for key, values in items:
        batch.append(model(compacted=True, **dict(zip(keys, key, strict=True)),
                           **dict(zip(sums, values, strict=True))))  # fmt: skip
        if len(batch) >= 1000:
            model.objects.bulk_create(batch)
            batch.clear()
    model.objects.bulk_create(batch)
