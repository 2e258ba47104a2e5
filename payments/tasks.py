"""django-q2 entry points of settlement reconciliation: call a service, nothing else."""

from payments.services.reconciliation import settlements_reconcile
from portal.queue import task


@task(timeout=300)
def settlements_reconcile_task() -> dict:
    return {name: dict(summary.as_rows()) for name, summary in settlements_reconcile().items()}
