from django.apps import AppConfig


class OrderReportConfig(AppConfig):
    """The project package itself: management commands and system checks."""

    name = "orderreport"
    label = "orderreport"

    def ready(self) -> None:
        from django.urls import register_converter

        from orderreport import checks  # noqa: F401
        from orderreport.converters import IdConverter, IndexConverter

        # Before any urls.py is imported: their routes name the converter as they are built.
        register_converter(IdConverter, "id")
        register_converter(IndexConverter, "index")
