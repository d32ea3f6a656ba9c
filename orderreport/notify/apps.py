from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "orderreport.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orderreport.accounts.signals import member_removed
        from orderreport.events.signals import record_admitted
        from orderreport.notify import checks, images  # noqa: F401
        from orderreport.notify.outbox import on_record_admitted, on_status_changed
        from orderreport.notify.services import on_member_removed
        from orderreport.orders.signals import status_changed

        status_changed.connect(on_status_changed, dispatch_uid="notify.status_changed")
        record_admitted.connect(on_record_admitted, dispatch_uid="notify.record_admitted")
        member_removed.connect(on_member_removed, dispatch_uid="notify.member_removed")
