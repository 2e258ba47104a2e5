"""The decide step for a batch of transactions just created together (the webhook drain's common case).

It gives each transaction what `transaction_decide` gives it, in a number of queries that does not grow
with the batch: the risk assessments in one pass (`transactions_risk_assess`), the ERP connection looked
up once, the receipts inserted together (a declined payment's status write-back, rare, one by one).
Whatever the batch path does not cover (an order's payment, a voided sale, a refund, a chargeback) goes
through `transaction_decide` one by one, in the same database transaction. Call it in the database
transaction that created the rows: the rows and their decision commit together, so an interrupted batch
leaves nothing planned and nothing undecided."""

from integrations.models import Connection, ErpPosting
from integrations.outbox.services import postings_wake
from integrations.selectors import ConnectionMissing
from payments.models import Order, RiskAssessment, Transaction
from payments.risk.services import HOLDING_STATUSES, transactions_risk_assess
from payments.services.pipeline import transaction_decide, transaction_unpostable_alert
from payments.services.postings import erp_connection_for_paytrace, receipt_reference
from payments.services.status_writebacks import status_writeback_plan

PostingStatus = ErpPosting.Status


def transactions_decide_created(*, transactions: list[Transaction]) -> None:
    """Decide transactions of one PayTrace connection, created together in the caller's transaction."""
    batched, single = _split(transactions)
    for transaction in single:
        transaction_decide(transaction)
    if not batched:
        return
    assessments = transactions_risk_assess(transactions=batched)
    _receipts_plan(batched=batched, assessments=assessments)
    Transaction.objects.filter(pk__in=[t.pk for t in batched]).update(decision_pending=False)
    for transaction in batched:
        transaction.decision_pending = False


def _split(transactions: list[Transaction]) -> tuple[list[Transaction], list[Transaction]]:
    """The payments the batch path decides, and the others. A payment an order names by its id is an
    order's payment (`order_payment_deferred`), and so may be one naming an invoice (an unclaimed order by
    that reference). A customer's payment is applied to its invoices, may wait for its subscription
    period's invoice or for the customer's creation in the ERP (`postings._receipt_plan`); a payment with
    no customer that names an invoice (a keyed sale paying it, perhaps entered in the ERP since the last
    invoice sync) is that invoice's customer's, found in the ERP
    (`receipt_customers.transaction_invoice_customer_ensure`). The single path decides all of these."""
    claimed = set(
        Order.objects.filter(
            paytrace_transaction_id__in=[t.transaction_id for t in transactions]
        ).values_list("paytrace_transaction_id", flat=True)
    )
    batched, single = [], []
    for transaction in transactions:
        plain = (
            transaction.transaction_type in Transaction.PAYMENT_TYPES
            and transaction.status != Transaction.Status.VOIDED
            and not transaction.original_id
            and not transaction.order_id
            and not transaction.customer_id
            and transaction.transaction_id not in claimed
            and not transaction.invoice_reference
        )
        (batched if plain else single).append(transaction)
    return batched, single


def _receipts_plan(*, batched: list[Transaction], assessments: dict[int, RiskAssessment]) -> None:
    """Insert the receipts of payments no customer claims (they go on account); a receipt already planned
    under the same reference is kept as it is (the outbox's uniqueness makes this idempotent). As
    `postings_plan_for_transaction` does, a missing ERP is alerted for every payment."""
    try:
        erp = erp_connection_for_paytrace(connection=batched[0].connection)
    except ConnectionMissing as exc:
        for transaction in batched:
            transaction_unpostable_alert(transaction=transaction, error=exc)
        return
    for transaction in batched:  # a declined payment's status, where the ERP's mapping writes it back
        status_writeback_plan(transaction=transaction, erp=erp)
    received = [t for t in batched if t.status in Transaction.RECEIVED_STATUSES]
    if not received:
        return
    ErpPosting.objects.bulk_create(
        [
            _receipt(transaction=t, erp=erp, held=assessments[t.pk].status in HOLDING_STATUSES)
            for t in received
        ],
        ignore_conflicts=True,
    )
    postings_wake()


def _receipt(*, transaction: Transaction, erp: Connection, held: bool) -> ErpPosting:
    return ErpPosting(
        connection=erp,
        document_type=ErpPosting.DocumentType.RECEIPT,
        reference=receipt_reference(transaction),
        status=PostingStatus.HELD if held else PostingStatus.PENDING,
        transaction=transaction,
        order_id=transaction.order_id,
    )
