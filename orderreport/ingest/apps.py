from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "orderreport.ingest"
    label = "ingest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation hooks on keys, domains, events, projects and accounts.
        from orderreport.ingest import signals  # noqa: F401
