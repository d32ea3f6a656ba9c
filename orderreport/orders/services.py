"""Changing an order's status: the one place that does it, for the dashboard and the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orderreport.orders.models import Order, Status, StatusChange

if TYPE_CHECKING:
    from orderreport.accounts.models import User


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
        locked = Order.objects.select_for_update().only("status").get(pk=order.pk)
        if locked.status == to_status:
            order.status = locked.status
            return None
        now = timezone.now()
        Order.objects.filter(pk=order.pk).update(status=to_status, updated_at=now)
        change = StatusChange.objects.create(
            order=order,
            from_status=locked.status,
            to_status=to_status,
            changed_at=now,
            changed_by=by_user,
            source=source,
        )
    order.status, order.updated_at = to_status, now
    return change
