from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "orderreport.tracking"
    label = "tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation hooks on keys, domains, events, projects and accounts.
        from orderreport.tracking import signals  # noqa: F401
