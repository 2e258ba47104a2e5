"""A receipt the ERP refused because an invoice it applies to has less open than we apply (paid or
credited there since we read it: another receipt, a credit note, a hand entry): never a dead letter.

Each invoice the receipt applies to is read again from the ERP. An application above what the ERP still
has open is cut to what our refreshed copy allows (nothing when the ERP shows it paid); the money it frees
stays on account, and a review item names the invoice. The receipt is then sent again at once. When every
application fits, the refusal was about something else and stands."""

from decimal import Decimal

from django.db import transaction as db_transaction

from integrations.models import ErpPosting
from integrations.sage.connector import ErpConnector
from payments.models import ZERO, Allocation, ReconciliationException
from payments.services.allocations import allocation_add, allocation_reverse
from payments.services.erp_invoices import erp_invoice_upsert


def _cut_review(*, allocation: Allocation, kept: Decimal, erp_balance: Decimal, error: Exception) -> None:
    payment, invoice = allocation.payment, allocation.invoice
    freed = allocation.amount - kept
    ReconciliationException.objects.update_or_create(
        dedup_key=f"receipt-cut-{allocation.pk}",
        defaults={
            "kind": ReconciliationException.Kind.UNAPPLIED_PAYMENT,
            "transaction": payment,
            "currency": payment.currency,
            "expected_amount": allocation.amount,
            "reported_amount": kept,
            "difference": freed,
            "reason": f"{payment.transaction_id}: invoice {invoice.invoice_number} has {erp_balance}"
            f" {invoice.currency} open in the ERP, less than the {allocation.amount} applied to it (paid or"
            f" credited there since it was read): {kept} applied, {freed} on account. The ERP said: {error}",
        },
    )


def receipt_refusal_mend(*, posting: ErpPosting, connector: ErpConnector, error: Exception) -> bool:
    if posting.transaction_id is None:
        return False
    live = (
        Allocation.objects.filter(
            payment_id=posting.transaction_id,
            reversed_at__isnull=True,
            invoice__connection=posting.connection,
        )
        .select_related("invoice", "payment")
        .order_by("pk")
    )
    mended = False
    for allocation in live:
        erp_invoice = connector.invoice_get(number=allocation.invoice.invoice_number)
        erp_balance = erp_invoice.balance if erp_invoice is not None else ZERO
        if allocation.amount <= erp_balance:
            continue
        with db_transaction.atomic():
            allocation_reverse(allocation=allocation)
            invoice = allocation.invoice
            if erp_invoice is not None:
                invoice = erp_invoice_upsert(connection=posting.connection, erp_invoice=erp_invoice).invoice
            invoice.refresh_from_db()
            kept = max(ZERO, min(allocation.amount, erp_balance, invoice.balance))
            if kept > ZERO:
                allocation_add(payment=allocation.payment, invoice=invoice, amount=kept, rule=allocation.rule)
            _cut_review(allocation=allocation, kept=kept, erp_balance=erp_balance, error=error)
        mended = True
    return mended
