"""Read-only admin views of the outbox, for operators; channel configs (secrets) are left out."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orderreport.notify.models import Attempt, Channel, Delivery


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(_ReadOnly):
    list_display = ["name", "kind", "project", "is_active", "failures_in_a_row"]
    list_filter = ["kind", "is_active"]
    exclude = ["config"]


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    list_display = ["id", "topic", "channel", "status", "attempts", "next_attempt_at", "created"]
    list_filter = ["status", "topic"]
    raw_id_fields = ["channel", "order", "event_record", "limit_warning"]


@admin.register(Attempt)
class AttemptAdmin(_ReadOnly):
    list_display = ["delivery", "at", "outcome", "duration_ms"]
    list_filter = ["outcome"]
    raw_id_fields = ["delivery"]
