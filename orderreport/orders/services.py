"""Changing an order: its status (the dashboard and the API) and its fields (the API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orderreport.orders import tallies
from orderreport.orders.models import Order, Status, StatusChange
from orderreport.orders.signals import status_changed

if TYPE_CHECKING:
    from orderreport.accounts.models import User


def bound_waits() -> None:
    """Bound this transaction's waits on PostgreSQL as the write side bounds its own.

    A status or field change locks the order row and writes the history and the outbox; a row
    or table held elsewhere (a migration, VACUUM FULL, a long dashboard transaction) would
    otherwise hold the request for as long as the lock lasts. It fails instead, rolled back,
    and the API answers 503 (nothing changed). SQLite's busy timeout bounds it there.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), "
            "set_config('statement_timeout', %s, true)",
            [f"{settings.INGEST_LOCK_TIMEOUT_MS}ms", f"{settings.INGEST_STATEMENT_TIMEOUT_MS}ms"],
        )


def change_status(
    order: Order, to_status: str, by_user: User | None = None, source: str = "dashboard"
) -> StatusChange | None:
    """Move `order` to `to_status` and write the step into its history.

    ValidationError for a status or source that does not exist; None, and nothing written,
    when the order already has that status. The order row is locked for the change, so two
    members changing it at once write two consistent steps (the second from the first's
    status), never two steps from the same one. `order` is updated in place.
    """
    if to_status not in Status.values:
        raise ValidationError(
            _("Unknown status %(status)r. Choose one of: %(allowed)s."),
            code="invalid_status",
            params={"status": to_status, "allowed": ", ".join(Status.values)},
        )
    if source not in StatusChange.Source.values:
        raise ValueError(f"unknown source {source!r}")
    with transaction.atomic():
        bound_waits()
        locked = Order.objects.select_for_update().only(*tallies.FIELDS).get(pk=order.pk)
        if locked.status == to_status:
            order.status = locked.status
            return None
        now = timezone.now()
        Order.objects.filter(pk=order.pk).update(status=to_status, updated_at=now)
        before = tallies.of(locked)
        tallies.change(before, before._replace(status=to_status))
        change = StatusChange.objects.create(
            order=order,
            from_status=locked.status,
            to_status=to_status,
            changed_at=now,
            changed_by=by_user,
            source=source,
        )
        # Inside the transaction: notify's deliveries commit with the step or not at all.
        status_changed.send(sender=StatusChange, change=change, order=order)
    order.status, order.updated_at = to_status, now
    return change


# The fields of the track table an update may set (POST /api/orders/update).
UPDATABLE_FIELDS = ("total", "currency", "username", "email", "phone", "products", "data")


def update_order(
    project_id: int,
    external_id: str,
    fields: Mapping[str, Any],
    status: str | None = None,
    source: str = "api",
) -> Order | None:
    """Apply a partial update to the project's order `external_id`; None if there is none.

    `fields` holds only what is to change (names from UPDATABLE_FIELDS, values as stored;
    `products` and `data` replace the lists). The fields, the status change with its history
    row, and what receivers of `status_changed` write (notify's outbox) commit in one
    transaction, with the order row locked. Values equal to the stored ones change nothing,
    so sending the same update twice writes nothing the second time; `updated_at` moves only
    when something changed. ValidationError for an unknown status (nothing written).
    """
    unknown = set(fields) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        bound_waits()
        order = (
            Order.objects.select_for_update()
            .filter(project_id=project_id, external_id=external_id)
            .first()
        )
        if order is None:
            return None
        changed = [name for name, value in fields.items() if getattr(order, name) != value]
        if changed:
            before = tallies.of(order)
            for name in changed:
                setattr(order, name, fields[name])
            order.updated_at = timezone.now()
            order.save(update_fields=[*changed, "updated_at"])
            tallies.change(before, tallies.of(order))
        if status is not None:
            change_status(order, status, source=source)
    return order


def delete_order(order: Order) -> None:
    """Delete an order with its history, its deliveries and its share of the tallies."""
    with transaction.atomic():
        bound_waits()
        locked = Order.objects.select_for_update().only(*tallies.FIELDS).filter(pk=order.pk)
        for row in locked:
            tallies.change(tallies.of(row), None)
            row.delete()
