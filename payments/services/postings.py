"""Planning: which ERP documents a transaction needs, as outbox rows keyed by our reference.

Planning is idempotent: a row is created once per (connection, document type, reference), so a webhook
and a sync seeing the same change plan nothing new the second time."""

import re

from django.db import transaction as db_transaction

from integrations.erps import erp_codes
from integrations.models import Connection, ErpPosting
from integrations.outbox.dependencies import dependents_hold
from integrations.outbox.services import posting_cancel, posting_resolve_soon, postings_wake
from integrations.selectors import ConnectionMissing, connections_active
from payments.models import CreditMemo, JournalEntry, Transaction
from payments.selectors.subscription_payments import subscription_charge_for_payment
from payments.services.allocations import allocation_reverse, payment_apply
from payments.services.chargeback_policy import chargeback_reopens, chargeback_reversal_reference
from payments.services.order_prepayments import order_prepayment_awaits, order_prepayment_hold_fields
from payments.services.receipt_customers import receipt_customer_plan
from payments.services.status_writebacks import status_writeback_plan

DocumentType = ErpPosting.DocumentType
PostingStatus = ErpPosting.Status
TxStatus = Transaction.Status

PAYMENT_TYPES = Transaction.PAYMENT_TYPES
REFUND_TYPES = Transaction.REFUND_TYPES
# Where a receipt sits before any worker has tried it (if its attempt count is still 0).
NEVER_SENT_STATUSES = (PostingStatus.HELD, PostingStatus.PENDING)


def erp_connection_for(*, transaction: Transaction) -> Connection:
    """The order's ERP, else the subscription's own, else the one named on the PayTrace connection, else
    the only active ERP."""
    if transaction.order_id:
        return transaction.order.erp_connection
    charge = subscription_charge_for_payment(transaction=transaction)
    if charge is not None and charge.subscription.erp_connection_id:
        return charge.subscription.erp_connection
    return erp_connection_for_paytrace(connection=transaction.connection)


def erp_connection_for_paytrace(*, connection: Connection) -> Connection:
    """The ERP named on the PayTrace connection's options, else the only active ERP."""
    named = connection.options.get("erp_connection")
    erps = connections_active().filter(system__in=erp_codes())
    if named:
        erp = erps.filter(name=named).first()
        if erp is None:
            raise ConnectionMissing(f"ERP connection {named!r} named on {connection.name} is not active")
        return erp
    candidates = list(erps[:2])
    if len(candidates) != 1:
        raise ConnectionMissing(
            "no ERP connection to post to: name one in the PayTrace connection's options (erp_connection)"
        )
    return candidates[0]


def _posting_plan(
    *,
    connection: Connection,
    document_type: str,
    reference: str,
    held: bool,
    depends_on: ErpPosting | None = None,
    **links,
) -> ErpPosting:
    if depends_on is not None:
        # Lock the receipt and read it afresh: a poster that makes it a dead letter holds its dependents in
        # the same transaction, and would not see one we are inserting. Under this lock either it has
        # committed (we see it dead and hold ours), or it waits for our commit (and holds ours itself).
        depends_on = ErpPosting.objects.select_for_update().get(pk=depends_on.pk)
    posting, created = ErpPosting.objects.get_or_create(
        connection=connection,
        document_type=document_type,
        reference=reference,
        defaults={
            "status": PostingStatus.HELD if held else PostingStatus.PENDING,
            "depends_on": depends_on,
            **links,
        },
    )
    if created:
        if depends_on is not None and depends_on.status == PostingStatus.DEAD:
            dependents_hold(posting=depends_on)
            posting.refresh_from_db()
        postings_wake()
    return posting


def receipt_reference(transaction: Transaction) -> str:
    return transaction.transaction_id


# `<receipt>-V` reverses a voided sale's whole receipt; `<receipt>-U<allocation pk>` gives back one undone
# application of it (`payments.services.allocations.allocation_undo`); `<receipt>-C<n>` reverses it for the
# sale's chargeback n (`payments.services.chargeback_policy`).
_REVERSAL_REFERENCE = re.compile(r"^(?P<receipt>.+?)-(?:V|C\d+|U(?P<allocation>\d+))$")


def reversal_reference_parse(reference: str) -> tuple[str, int | None]:
    """The reversed receipt's reference, and the undone allocation's pk (None for a whole void)."""
    parts = _REVERSAL_REFERENCE.match(reference)
    return parts["receipt"], int(parts["allocation"]) if parts["allocation"] else None


def postings_plan_for_transaction(*, transaction: Transaction, held: bool = False) -> list[ErpPosting]:
    erp = erp_connection_for(transaction=transaction)
    with db_transaction.atomic():
        received = transaction.status in Transaction.RECEIVED_STATUSES
        if transaction.transaction_type in PAYMENT_TYPES and received:
            return [_receipt_plan(transaction=transaction, erp=erp, held=held)]
        if transaction.transaction_type in PAYMENT_TYPES and transaction.status == TxStatus.VOIDED:
            return _void_plan(transaction=transaction, erp=erp)
        if transaction.transaction_type in REFUND_TYPES and transaction.status in (
            TxStatus.APPROVED,
            TxStatus.SETTLED,
        ):
            return [_credit_memo_plan(transaction=transaction, erp=erp, held=held)]
        if transaction.transaction_type == Transaction.Type.CHARGEBACK:
            return [_chargeback_plan(transaction=transaction, erp=erp)]
        writeback = status_writeback_plan(transaction=transaction, erp=erp)
    return [writeback] if writeback is not None else []


def _invoice_awaited(
    *, transaction: Transaction, erp: Connection, customer_posting: ErpPosting | None
) -> ErpPosting | None:
    """A subscription period's payment: the period's own ERP invoice, planned once under the period's
    reference in the subscription's ERP (`erp_connection_for`), while it is not posted yet. Each period
    thus gets its invoice, found again by our reference before any retry, and its receipt waits for it."""
    if subscription_charge_for_payment(transaction=transaction) is None:
        return None
    invoice = _posting_plan(
        connection=erp,
        document_type=DocumentType.INVOICE,
        reference=transaction.invoice_reference,
        held=False,
        depends_on=customer_posting,
        customer_id=transaction.customer_id,
    )
    return None if invoice.status == PostingStatus.POSTED else invoice


def _receipt_plan(*, transaction: Transaction, erp: Connection, held: bool) -> ErpPosting:
    # A customer the ERP does not know yet is created first; a payment whose invoice we are raising
    # waits for that invoice, and is applied to it when it posts (`payments.erp.invoices`); any other
    # is applied now.
    customer_posting = receipt_customer_plan(transaction=transaction, erp=erp)
    awaited = _invoice_awaited(transaction=transaction, erp=erp, customer_posting=customer_posting)
    if transaction.customer_id and not transaction.allocations.exists() and awaited is None:
        payment_apply(payment=transaction, erp_connection=erp)
    # An order not invoiced yet: the payment waits as its prepayment (`order_prepayments`).
    prepayment = awaited is None and order_prepayment_awaits(transaction=transaction, erp=erp)
    return _posting_plan(
        connection=erp,
        document_type=DocumentType.RECEIPT,
        reference=receipt_reference(transaction),
        held=held or prepayment,
        depends_on=awaited or customer_posting,
        transaction=transaction,
        customer_id=transaction.customer_id,
        order_id=transaction.order_id,
        **(order_prepayment_hold_fields(transaction=transaction) if prepayment else {}),
    )


def _void_plan(*, transaction: Transaction, erp: Connection) -> list[ErpPosting]:
    """A receipt never tried is cancelled. One that was tried may be in the ERP even if we never heard
    back ("applied but timed out"), or may be in flight: it gets a reversal that waits for it to settle.
    The receipt is made due at once, so its next try looks our reference up in the ERP and either finds
    it (posted with the ERP's number, then reversed) or, as its sale is voided, sends nothing and ends
    cancelled (and the reversal with it)."""
    receipt = (
        ErpPosting.objects.select_for_update()  # so no poster claims it while we decide
        .filter(connection=erp, document_type=DocumentType.RECEIPT, reference=receipt_reference(transaction))
        .first()
    )
    # Our copy gives the money back now, as the ERP will once the receipt is cancelled or reversed: the
    # invoice is open again here for the next payment (`erp_invoices` counts a reversal still on its way).
    for allocation in transaction.allocations.filter(reversed_at__isnull=True, invoice__connection=erp):
        allocation_reverse(allocation=allocation)
    if receipt is None or receipt.status == PostingStatus.CANCELLED:
        return []
    reason = f"PayTrace transaction {transaction.transaction_id} was voided"
    if receipt.status in NEVER_SENT_STATUSES and receipt.attempt_count == 0:
        posting_cancel(posting=receipt, reason=reason)
        return [receipt]
    reversal = _posting_plan(
        connection=erp,
        document_type=DocumentType.REVERSAL,
        reference=f"{receipt.reference}-V",
        held=False,
        depends_on=receipt,
        transaction=transaction,
        customer_id=transaction.customer_id,
    )
    posting_resolve_soon(posting=receipt, reason=f"{reason}: look it up in the ERP, then reverse or cancel")
    return [reversal]


def _credit_memo_plan(*, transaction: Transaction, erp: Connection, held: bool) -> ErpPosting:
    original = transaction.original
    invoice = (
        original.allocations.filter(reversed_at__isnull=True).select_related("invoice").first()
        if original
        else None
    )
    memo, _ = CreditMemo.objects.get_or_create(
        refund=transaction,
        defaults={
            "original": original,
            "invoice": invoice.invoice if invoice else None,
            "amount": transaction.amount,
            "currency": transaction.currency,
            "reason": transaction.description[:255],
        },
    )
    return _posting_plan(
        connection=erp,
        document_type=DocumentType.CREDIT_MEMO,
        reference=transaction.transaction_id,
        held=held,
        depends_on=_sale_receipt(original=original),
        transaction=transaction,
        credit_memo=memo,
        customer_id=transaction.customer_id or (original.customer_id if original else None),
    )


def _sale_receipt(*, original: Transaction | None) -> ErpPosting | None:
    """The receipt a refund's credit note waits for: the sale's live one, else a cancelled one (then the
    credit note has nothing to offset in the ERP and ends cancelled too)."""
    if original is None:
        return None
    receipts = ErpPosting.objects.filter(transaction=original, document_type=DocumentType.RECEIPT)
    return receipts.exclude(status=PostingStatus.CANCELLED).first() or receipts.first()


def _chargeback_plan(*, transaction: Transaction, erp: Connection) -> ErpPosting:
    """The sale's receipt reversed (its invoices reopen in the ERP, as they did here), else the loss
    booked by a journal entry: `chargeback_policy` decides, for both sides alike."""
    if chargeback_reopens(chargeback=transaction, erp=erp):
        return _posting_plan(
            connection=erp,
            document_type=DocumentType.REVERSAL,
            reference=chargeback_reversal_reference(chargeback=transaction),
            held=False,
            depends_on=_sale_receipt(original=transaction.original),
            transaction=transaction,
            customer_id=transaction.customer_id,
        )
    entry, _ = JournalEntry.objects.get_or_create(
        reference=f"CB-{transaction.transaction_id}",
        defaults={
            "kind": JournalEntry.Kind.CHARGEBACK,
            "erp_connection": erp,
            "entry_date": transaction.occurred_at.date(),
            "currency": transaction.currency,
            "description": f"Chargeback {transaction.transaction_id}",
            "transaction": transaction,
        },
    )
    return _posting_plan(
        connection=erp,
        document_type=DocumentType.JOURNAL_ENTRY,
        reference=entry.reference,
        held=False,
        transaction=transaction,
        journal_entry=entry,
        customer_id=transaction.customer_id,
    )
