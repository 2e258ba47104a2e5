from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments.erp.effects import payments_outbox_register
        from payments.inbox_handlers import payments_inbox_register

        payments_outbox_register()
        payments_inbox_register()
