from django.contrib import admin

from orderreport.orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "total", "currency", "username", "received_at"]
    list_filter = ["currency", "received_at"]
    search_fields = ["external_id", "username", "email", "phone"]
    raw_id_fields = ["project"]
    date_hierarchy = "received_at"
    list_select_related = ["project"]
    show_full_result_count = False  # COUNT(*) over millions of orders is not free
