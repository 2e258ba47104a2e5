from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from payments.api.permissions import api_permissions_required
        from payments.erp.effects import payments_outbox_register
        from payments.inbox_handlers import payments_inbox_register
        from payments.models import Transaction
        from payments.services.callbacks import order_event_saved
        from portal.api_permissions import api_permissions_register
        from portal.review_queues import ReviewQueue, review_queue_register

        payments_outbox_register()
        payments_inbox_register()
        api_permissions_register(api_permissions_required)
        post_save.connect(
            order_event_saved, sender="payments.OrderEvent", dispatch_uid="order_event_callback"
        )
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
