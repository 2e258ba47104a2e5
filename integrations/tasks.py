"""django-q2 entry points of the integrations app: fetch by id, call a service, nothing else."""

from integrations import inbox
from integrations.alerts import alert_deliver as alert_deliver_service
from integrations.models import Alert
from integrations.outbox.poster import postings_post_due
from portal.queue import task

# Each task works in a loop for at most its budget, well inside its timeout.
BUDGET_SECONDS = 60


@task(timeout=90)
def webhook_events_drain() -> int:
    return inbox.webhook_events_drain(time_budget_seconds=BUDGET_SECONDS)


@task(timeout=90)
def postings_post() -> dict:
    return postings_post_due(time_budget_seconds=BUDGET_SECONDS).__dict__


@task(timeout=30)
def alert_deliver(alert_id: int) -> None:
    alert_deliver_service(alert=Alert.objects.get(pk=alert_id))
