from django import forms
from django.contrib import admin

from orderreport.projects.domains import InvalidDomain, normalize_domain
from orderreport.projects.models import ApiKey, Domain, Event, Project


class DomainForm(forms.ModelForm):
    """The admin stores domains in the same normalised form as the dashboard, or the
    tracking API would never match them (`https://Example.com/` vs `example.com`)."""

    class Meta:
        model = Domain
        fields = ["project", "host", "is_active"]

    def clean_host(self) -> str:
        try:
            return normalize_domain(self.cleaned_data["host"])
        except InvalidDomain as exc:
            raise forms.ValidationError(str(exc)) from None


class DomainInline(admin.TabularInline):
    model = Domain
    form = DomainForm
    extra = 0


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    # Kind is chosen at creation (a server key's `key` is its hash: create those on the keys page).
    readonly_fields = ["kind", "key", "prefix", "last_used"]


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    readonly_fields = ["key"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "timezone", "currency", "created"]
    list_filter = ["currency", "created"]
    search_fields = ["name", "account__name", "account__owner__email"]
    raw_id_fields = ["account"]
    inlines = [DomainInline, ApiKeyInline, EventInline]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    form = DomainForm
    list_display = ["host", "project", "is_active", "created"]
    list_filter = ["is_active"]
    search_fields = ["host", "project__name"]
    raw_id_fields = ["project"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project", "is_active", "created", "last_used"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "key", "project__name"]
    raw_id_fields = ["project"]
    readonly_fields = ["kind", "prefix", "last_used"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "project", "is_active", "created"]
    list_filter = ["is_active"]
    search_fields = ["name", "key", "project__name"]
    raw_id_fields = ["project"]
