from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "orderreport.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orderreport.notify import checks  # noqa: F401
