"""What a posted ERP document, or a dead letter, changes on our side: the ERP's number lands on the rows
it belongs to, and a storefront order moves on (or fails with the ERP's reason).

Registered with the outbox by `payments_outbox_register`, called from the app's `ready()`."""

from django.utils import timezone

from customers.erp import customer_build
from customers.models import CustomerLink
from integrations.models import ErpPosting
from integrations.outbox.registry import (
    document_builder_register,
    documents_prepare_register,
    posting_dead_effect_register,
    posting_effect_register,
    posting_refusal_mend_register,
)
from integrations.sage.base import ErpDocument
from payments.erp.documents import (
    credit_memo_build,
    journal_entry_build,
    receipt_build,
    reversal_build,
    sales_order_build,
)
from payments.erp.invoices import invoice_build, invoice_posted
from payments.erp.receipt_mend import receipt_refusal_mend
from payments.erp.receipt_money import receipts_allocations_prepare
from payments.erp.status_notes import status_note_build
from payments.models import CreditMemo, JournalEntry, Transaction
from payments.services.orders import (
    Status,
    order_customer_synced,
    order_money_back_posted,
    order_payment_attach,
    order_payment_find,
    order_posting_dead,
    order_status_move,
    orders_waiting_for_customer,
)
from payments.services.pipeline import transaction_decide

DocumentType = ErpPosting.DocumentType
PAYMENT_TYPES = Transaction.PAYMENT_TYPES


def credit_memo_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    if posting.credit_memo_id:
        CreditMemo.objects.filter(pk=posting.credit_memo_id).update(erp_document_number=document.number)
    order_money_back_posted(posting=posting, document_number=document.number)


def reversal_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    order_money_back_posted(posting=posting, document_number=document.number)


def journal_entry_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    if posting.journal_entry_id:
        JournalEntry.objects.filter(pk=posting.journal_entry_id).update(erp_document_number=document.number)


def order_customer_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    if posting.customer_id is None:
        return
    CustomerLink.objects.get_or_create(
        customer_id=posting.customer_id,
        connection=posting.connection,
        defaults={"external_id": document.number, "synced_at": timezone.now()},
    )
    for order in orders_waiting_for_customer(customer_id=posting.customer_id, erp=posting.connection):
        order_customer_synced(order=order, number=document.number)


def order_sales_order_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    if posting.order_id is None:
        return
    order = order_status_move(
        order=posting.order,
        to_status=Status.ORDER_CREATED,
        reason=f"Sales order {document.number} in {posting.connection.name}",
        erp_order_number=document.number,
    )
    payment = order_payment_find(order=order)
    if payment is None:
        return
    order_payment_attach(order=order, payment=payment)
    elsewhere = (
        payment.postings.filter(document_type=DocumentType.RECEIPT)
        .exclude(connection=order.erp_connection)
        .exclude(status=ErpPosting.Status.CANCELLED)
        .first()
    )
    if elsewhere is not None:
        # It arrived before the order and went to the default ERP: never post the money twice.
        order_status_move(
            order=order,
            to_status=Status.ON_HOLD,
            reason=f"Payment {payment.transaction_id} was already planned as a receipt in"
            f" {elsewhere.connection.name}: move it by hand",
        )
        return
    transaction_decide(payment)


def order_receipt_posted(*, posting: ErpPosting, document: ErpDocument) -> None:
    order = posting.transaction.order if posting.transaction_id else None
    if order is None or posting.transaction.transaction_type not in PAYMENT_TYPES:
        return
    applied = ", ".join(
        posting.transaction.allocations.filter(reversed_at__isnull=True).values_list(
            "invoice__invoice_number", flat=True
        )
    )
    order_status_move(
        order=order,
        to_status=Status.POSTED,
        reason=f"Receipt {document.number}" + (f" applied to {applied}" if applied else " on account"),
    )


def payments_outbox_register() -> None:
    """Every document type the payments and customers flows plan, with what follows its posting."""
    builders = {
        DocumentType.RECEIPT: receipt_build,
        DocumentType.CREDIT_MEMO: credit_memo_build,
        DocumentType.REVERSAL: reversal_build,
        DocumentType.JOURNAL_ENTRY: journal_entry_build,
        DocumentType.SALES_ORDER: sales_order_build,
        DocumentType.CUSTOMER: customer_build,
        DocumentType.INVOICE: invoice_build,
        DocumentType.STATUS_NOTE: status_note_build,
    }
    for document_type, build in builders.items():
        document_builder_register(document_type=document_type, build=build)
    effects = {
        DocumentType.CREDIT_MEMO: credit_memo_posted,
        DocumentType.JOURNAL_ENTRY: journal_entry_posted,
        DocumentType.CUSTOMER: order_customer_posted,
        DocumentType.SALES_ORDER: order_sales_order_posted,
        DocumentType.RECEIPT: order_receipt_posted,
        DocumentType.REVERSAL: reversal_posted,
        DocumentType.INVOICE: invoice_posted,
    }
    for document_type, effect in effects.items():
        posting_effect_register(document_type=document_type, effect=effect)
    posting_dead_effect_register(effect=order_posting_dead)
    posting_refusal_mend_register(document_type=DocumentType.RECEIPT, mend=receipt_refusal_mend)
    documents_prepare_register(document_type=DocumentType.RECEIPT, prepare=receipts_allocations_prepare)
