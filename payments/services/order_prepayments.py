"""A storefront order paid before the ERP has invoiced it: the payment waits as a prepayment against the
order, and is applied to the invoice the ERP raises from the sales order once the invoice sync sees it.

The ERP invoice names the order it came from (its sales-order reference, read by the invoice sync into
`Invoice.order`). An order's payment with no such invoice yet has nothing to apply to: its receipt is
planned held, with the code `AwaitingInvoice` and the order's history saying so, rather than posted on
account and left there. When the sync brings in an open invoice of that order, the payment is applied to
it (against the ERP's balance, as every application is) and the receipt is released, so it reaches the ERP
applied to that invoice. Finance can release a receipt that waits too long from the held queue: it then
posts on account."""

from django.db import transaction as db_transaction
from django.utils import timezone

from integrations.models import Connection, ErpPosting
from integrations.outbox.services import postings_wake
from payments.models import Invoice, Order, Transaction
from payments.services.allocations import payment_apply
from payments.services.erp_invoices import OPEN_STATUSES
from payments.services.orders import ORDER_INVOICE_AWAITED

Receipt = ErpPosting.DocumentType.RECEIPT


def order_prepayment_awaits(*, transaction: Transaction, erp: Connection) -> bool:
    """An order's payment bound for the order's ERP that nothing could be applied to: the order is not
    invoiced there yet."""
    return bool(
        transaction.order_id
        and transaction.order.erp_connection_id == erp.pk
        and transaction.transaction_type in Transaction.PAYMENT_TYPES
        and not transaction.allocations.filter(reversed_at__isnull=True).exists()
    )


def order_prepayment_hold_fields(*, transaction: Transaction) -> dict[str, str]:
    """What a receipt held as a prepayment says while it waits."""
    return {
        "last_error_code": ORDER_INVOICE_AWAITED,
        "last_error": f"Prepayment for order {transaction.order.order_id}: waits for the ERP's invoice of"
        " its sales order (the invoice sync applies it), or release it to post on account.",
    }


def order_prepayments_apply(*, invoice: Invoice) -> int:
    """The invoice sync saw `invoice`: the prepayments waiting for its order are applied to it and their
    receipts released. Returns how many."""
    if invoice.order_id is None or invoice.status not in OPEN_STATUSES:
        return 0
    waiting = ErpPosting.objects.filter(
        connection_id=invoice.connection_id,
        document_type=Receipt,
        status=ErpPosting.Status.HELD,
        last_error_code=ORDER_INVOICE_AWAITED,
        transaction__order_id=invoice.order_id,
    ).select_related("transaction__order", "connection")
    released = 0
    for receipt in waiting:
        payment = receipt.transaction
        # The receipt's posting tells the order where the money went ("applied to <invoice>").
        payment_apply(payment=payment, erp_connection=receipt.connection)
        with db_transaction.atomic():
            updated = ErpPosting.objects.filter(
                pk=receipt.pk, status=ErpPosting.Status.HELD, last_error_code=ORDER_INVOICE_AWAITED
            ).update(
                status=ErpPosting.Status.PENDING,
                last_error_code="",
                last_error="",
                next_attempt_at=None,
                updated_at=timezone.now(),
            )
            if not updated:
                continue
            Order.objects.filter(pk=payment.order_id).update(invoice_number=invoice.invoice_number)
            released += 1
    if released:
        postings_wake()
    return released
