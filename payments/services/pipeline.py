"""The "decide" step: what happens after a transaction is created or changes."""

from integrations.alerts import alert_raise
from integrations.outbox.planner import postings_plan_for_transaction
from integrations.selectors import ConnectionMissing
from payments.models import Transaction


def transaction_decide(transaction: Transaction) -> None:
    """Plan the ERP documents the change calls for (idempotently)."""
    try:
        postings_plan_for_transaction(transaction=transaction)
    except ConnectionMissing as exc:
        alert_raise(
            title=f"Transaction {transaction.transaction_id} cannot be posted",
            message=str(exc),
            subject=transaction,
        )
