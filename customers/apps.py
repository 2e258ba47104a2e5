from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from customers.paytrace import customers_inbox_register
        from portal.review_queues import ReviewQueue, review_queue_register

        customers_inbox_register()
        review_queue_register(
            ReviewQueue("customers.duplicatecandidate", "Duplicate customers", {"status": "open"})
        )
