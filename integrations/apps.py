from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedules_ensure(sender, **kwargs) -> None:
    from integrations.schedules import schedules_ensure

    schedules_ensure()


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from integrations import checks, tasks  # noqa: F401  (registers system checks and task timeouts)
        from integrations.connection_health import connection_call_observe
        from integrations.http import call_observer_register
        from portal.review_queues import ReviewQueue, review_queue_register

        call_observer_register(observer=connection_call_observe)

        review_queue_register(ReviewQueue("integrations.erpposting", "Dead letters", {"status": "dead"}))
        review_queue_register(
            ReviewQueue(
                "integrations.webhookevent", "Failed webhook events", {"status__in": ["failed", "dead"]}
            )
        )
        review_queue_register(
            ReviewQueue("integrations.alert", "Unacknowledged alerts", {"acknowledged_at__isnull": True})
        )
        # After migrate, so every deploy has its schedules and none is duplicated.
        post_migrate.connect(_schedules_ensure, sender=self, dispatch_uid="paysage-schedules")
