from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments.erp.effects import payments_outbox_register
        from payments.inbox_handlers import payments_inbox_register
        from payments.models import Transaction
        from portal.review_queues import ReviewQueue, review_queue_register

        payments_outbox_register()
        payments_inbox_register()
        # Waiting for a decision means something is held from the ERP until it comes: a declined (or
        # voided) sale has nothing to post, so its score is history, not work.
        review_queue_register(
            ReviewQueue(
                "payments.riskassessment",
                "Flagged payments",
                {"status": "flagged", "transaction__status__in": sorted(Transaction.RECEIVED_STATUSES)},
                list_filters={"status__exact": "flagged"},
            )
        )
        review_queue_register(
            ReviewQueue("payments.reconciliationexception", "Reconciliation exceptions", {"status": "open"})
        )
