from django.apps import AppConfig


class OrderReportConfig(AppConfig):
    """The project package itself: management commands and system checks."""

    name = "orderreport"
    label = "orderreport"

    def ready(self) -> None:
        from orderreport import checks  # noqa: F401
