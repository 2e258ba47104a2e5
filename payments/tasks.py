"""django-q2 entry points of the payments app: call a service, nothing else."""

from customers.paytrace import paytrace_customers_sync
from integrations.claims import Budget
from integrations.models import System
from integrations.selectors import connections_active
from payments.services.billing import subscriptions_bill_due
from payments.services.callbacks import callbacks_deliver_due
from payments.services.erp_reconciliation import erp_nets_reconcile
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide, transactions_decide_undecided
from payments.services.reconciliation import settlements_reconcile
from payments.services.unapplied_totals import unapplied_totals_compact
from portal.queue import task

# Each loop stops taking new work after this long, well inside its task's timeout (and the charge lease in
# `payments.services.billing`, after which a charge left "charging" is looked up again).
BUDGET_SECONDS = 60
# The transaction sync stops taking records after this long, leaving time for the vault customers.
SYNC_BUDGET_SECONDS = 45
# The ERP look-ups of the daily net comparison stop after this long (the rest take the outbox's word).
RECONCILE_BUDGET_SECONDS = 200


@task(timeout=300)
def settlements_reconcile_task() -> dict:
    return {name: dict(summary.as_rows()) for name, summary in settlements_reconcile().items()}


@task(timeout=90)
def paytrace_sync() -> list[dict]:
    summaries = []
    budget = Budget(SYNC_BUDGET_SECONDS)  # shared by every connection's transaction sync
    for connection in connections_active(system=System.PAYTRACE):
        summaries.append(
            paytrace_transactions_sync(
                connection=connection, on_change=transaction_decide, budget=budget
            ).__dict__
        )
        summaries.append(paytrace_customers_sync(connection=connection).__dict__)
    return summaries


@task(timeout=90)
def subscriptions_bill() -> dict:
    return subscriptions_bill_due(time_budget_seconds=BUDGET_SECONDS).__dict__


@task(timeout=300)
def erp_net_reconcile_task() -> list[dict]:
    summaries = erp_nets_reconcile(days=2, budget=Budget(RECONCILE_BUDGET_SECONDS))
    return [{"connection": s.connection, "differences": len(s.differences)} for s in summaries]


@task(timeout=90)
def transactions_undecided_decide() -> int:
    return transactions_decide_undecided()


@task(timeout=90)
def callbacks_deliver() -> int:
    return callbacks_deliver_due(time_budget_seconds=BUDGET_SECONDS)


@task(timeout=60)
def unapplied_totals_compact_task() -> int:
    return unapplied_totals_compact()
