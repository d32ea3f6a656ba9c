from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "orderreport.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orderreport.accounts import signals  # noqa: F401 - connects the receivers
