from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments.api.permissions import api_permissions_required
        from payments.erp.effects import payments_outbox_register
        from payments.inbox_handlers import payments_inbox_register
        from portal.api_permissions import api_permissions_register
        from portal.review_queues import ReviewQueue, review_queue_register

        payments_outbox_register()
        payments_inbox_register()
        api_permissions_register(api_permissions_required)
        review_queue_register(
            ReviewQueue("payments.riskassessment", "Flagged payments", {"status": "flagged"})
        )
        review_queue_register(
            ReviewQueue("payments.reconciliationexception", "Reconciliation exceptions", {"status": "open"})
        )
