"""`{% deliveries_of order access %}`: the notifications of one order or event record, with
every attempt and a "send again" button, for the order and event pages."""

from __future__ import annotations

from typing import Any

from django import template

from orderreport.accounts.access import ProjectAccess
from orderreport.events.models import EventRecord
from orderreport.notify.models import Delivery
from orderreport.orders.models import Order

register = template.Library()


@register.inclusion_tag("notify/partials/deliveries.html", takes_context=True)
def deliveries_of(
    context: template.Context, record: Order | EventRecord, access: ProjectAccess
) -> dict[str, Any]:
    field = "order" if isinstance(record, Order) else "event_record"
    deliveries = (
        Delivery.objects.filter(**{field: record}, channel__project_id=access.project.pk)
        .select_related("channel")
        .prefetch_related("attempt_log")
        .order_by("-created", "-id")
    )
    return {
        "deliveries": list(deliveries),
        "access": access,
        "project": access.project,
        "csrf_token": context.get("csrf_token"),
    }
