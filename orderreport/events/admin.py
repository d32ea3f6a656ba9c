from django.contrib import admin

from orderreport.events.models import EventRecord


@admin.register(EventRecord)
class EventRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "project", "origin", "received_at"]
    list_filter = ["received_at"]
    search_fields = ["event__name", "event__key", "origin"]
    raw_id_fields = ["project", "event"]
    date_hierarchy = "received_at"
    list_select_related = ["project", "event"]
    show_full_result_count = False
