"""A declined (or failed) payment's status written back to its ERP, as one outbox document.

Finance chooses per ERP in the status mapping: the `declined` row's action `status_note` writes its
`erp_status` (e.g. "Payment Failed") on the invoice the payment carried, else the order's sales order,
else the customer (`payments.erp.status_notes` builds it); any other action writes nothing. Both decide
paths (`postings_plan_for_transaction` and the batch path of `decide_batch`) plan it here, once per
(ERP, transaction): the PayTrace transaction id is our reference, so a retry finds the note first."""

from integrations.models import Connection, ErpPosting, StatusMapping
from integrations.outbox.services import postings_wake
from payments.models import Transaction

DECLINED = "declined"  # the status mapping row that governs a declined or failed payment


def status_writeback_wanted(*, transaction: Transaction) -> bool:
    return (
        transaction.transaction_type in Transaction.PAYMENT_TYPES
        and transaction.status == Transaction.Status.DECLINED
    )


def status_writeback_plan(*, transaction: Transaction, erp: Connection) -> ErpPosting | None:
    """Plan the write-back of a declined payment when `erp`'s mapping asks for one (idempotent)."""
    if not status_writeback_wanted(transaction=transaction):
        return None
    action = (
        StatusMapping.objects.filter(erp=erp.system, paytrace_status=DECLINED)
        .values_list("action", flat=True)
        .first()
    )
    if action != StatusMapping.Action.STATUS_NOTE:
        return None
    posting, created = ErpPosting.objects.get_or_create(
        connection=erp,
        document_type=ErpPosting.DocumentType.STATUS_NOTE,
        reference=transaction.transaction_id,
        defaults={
            "status": ErpPosting.Status.PENDING,
            "transaction": transaction,
            "customer_id": transaction.customer_id,
            "order_id": transaction.order_id,
        },
    )
    if created:
        postings_wake()
    return posting
