from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from orderreport.accounts.models import Account, Membership, Plan, Usage, User


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
