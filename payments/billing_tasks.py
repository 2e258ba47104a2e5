"""django-q2 entry point for recurring billing: a thin wrapper over the billing service."""

from payments.services.billing import subscriptions_bill_due
from portal.queue import task

# The run stops taking new charges after this long, well inside the task's timeout (and the charge
# lease in `payments.services.billing`, after which a charge left "charging" is looked up again).
BUDGET_SECONDS = 60


@task(timeout=90)
def subscriptions_bill() -> dict:
    return subscriptions_bill_due(time_budget_seconds=BUDGET_SECONDS).__dict__
