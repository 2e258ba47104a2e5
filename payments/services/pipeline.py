"""The "decide" step: what happens after a transaction is created or changes."""

from datetime import timedelta

from integrations.alerts import alert_raise
from integrations.selectors import ConnectionMissing
from payments.models import Transaction
from payments.risk.services import transaction_postings_held, transaction_risk_assess
from payments.selectors.transactions import transactions_undecided
from payments.services.orders import order_payment_deferred, order_payment_planned
from payments.services.postings import postings_plan_for_transaction
from payments.services.transactions import transaction_decision_done

# A change younger than this may still be on its way through a drain: leave it to that drain.
UNDECIDED_GRACE = timedelta(seconds=60)


def transaction_decide(transaction: Transaction) -> None:
    """Risk-score the transaction (once), then plan the ERP documents the change calls for
    (idempotently); a flagged transaction's documents are planned held until a reviewer decides. Every
    step is idempotent, so deciding a change twice (after a crash) plans nothing twice."""
    _decide(transaction)
    transaction_decision_done(transaction=transaction)


def _decide(transaction: Transaction) -> None:
    assessment = transaction_risk_assess(transaction=transaction)
    if order_payment_deferred(transaction=transaction):
        return  # an order's payment is planned once its sales order is in the ERP
    try:
        held = transaction_postings_held(transaction=transaction, assessment=assessment)
        postings = postings_plan_for_transaction(transaction=transaction, held=held)
    except ConnectionMissing as exc:
        transaction_unpostable_alert(transaction=transaction, error=exc)
        return
    order_payment_planned(transaction=transaction, postings=postings)


def transaction_unpostable_alert(*, transaction: Transaction, error: ConnectionMissing) -> None:
    alert_raise(
        title=f"Transaction {transaction.transaction_id} cannot be posted",
        message=str(error),
        subject=transaction,
    )


def transactions_decide_undecided(*, limit: int = 500) -> int:
    """Decide the changes a dead worker left undecided and no later delivery or sync took up."""
    undecided = transactions_undecided(older_than=UNDECIDED_GRACE, limit=limit)
    for transaction in undecided:
        transaction_decide(transaction)
    return len(undecided)
