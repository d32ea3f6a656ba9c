from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from orderreport.accounts.models import Account, HeldOrder, Membership, Plan, Usage, User
from orderreport.accounts.services import set_plan


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "language", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "language"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "language")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "monthly_order_limit", "sort_order"]
    list_editable = ["monthly_order_limit", "sort_order"]
    search_fields = ["name", "title"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "plan", "billing_anchor", "created"]
    list_filter = ["plan", "created"]
    search_fields = ["name", "owner__email"]
    raw_id_fields = ["owner"]
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "plan" in form.changed_data:
            # Through set_plan, like the command: a larger plan releases held orders.
            released = set_plan(obj, obj.plan)
            if released:
                self.message_user(request, f"{released} held orders released.")


@admin.register(HeldOrder)
class HeldOrderAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "account", "total", "currency", "received_at",
                    "expires_at"]  # fmt: skip
    list_filter = ["period_start"]
    search_fields = ["external_id", "account__name", "account__owner__email"]
    raw_id_fields = ["account", "project"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created"]
    list_filter = ["role"]
    search_fields = ["user__email", "account__name"]
    raw_id_fields = ["user", "account"]


@admin.register(Usage)
class UsageAdmin(admin.ModelAdmin):
    list_display = ["account", "period_start", "used"]
    list_filter = ["period_start"]
    search_fields = ["account__name", "account__owner__email"]
    raw_id_fields = ["account"]
