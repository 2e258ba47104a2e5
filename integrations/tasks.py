"""django-q2 entry points of the integrations app: fetch by id, call a service, nothing else."""

from integrations import inbox
from integrations.alerts import alert_deliver as alert_deliver_service
from integrations.models import Alert
from integrations.outbox.poster import postings_due, postings_post_due
from portal.queue import drain_exclusive, task

# Each drain stops taking new items after this long, well inside its timeout; work still due then is
# picked up by the next run, which the drain asks for as it ends. A running drain renews its hold every
# third of HOLD_SECONDS, so one whose worker died blocks the next for HOLD_SECONDS at most (its claims are
# free again after their one-minute lease).
BUDGET_SECONDS = 30
HOLD_SECONDS = 12


@task(timeout=90, queue="inbox")
def webhook_events_drain() -> int | None:
    return drain_exclusive(
        path="integrations.tasks.webhook_events_drain",
        drain=lambda: inbox.webhook_events_drain(time_budget_seconds=BUDGET_SECONDS),
        due=inbox.webhook_events_due,
        hold_seconds=HOLD_SECONDS,
    )


@task(timeout=90, queue="outbox")
def postings_post() -> dict | None:
    summary = drain_exclusive(
        path="integrations.tasks.postings_post",
        drain=lambda: postings_post_due(time_budget_seconds=BUDGET_SECONDS, wait_for_coming=True),
        due=postings_due,
        hold_seconds=HOLD_SECONDS,
    )
    return None if summary is None else summary.__dict__


@task(timeout=30)
def alert_deliver(alert_id: int) -> None:
    alert_deliver_service(alert=Alert.objects.get(pk=alert_id))
