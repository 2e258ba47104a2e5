"""The write-back of a declined payment's status (`payments.services.status_writebacks`) as the
connector's `StatusNoteData`: what it targets is the invoice the payment carried (as the ERP knows it),
else the order's sales order, else the customer."""

from customers.models import CustomerLink
from integrations.models import ErpPosting, StatusMapping
from integrations.outbox.registry import PostingNotNeeded
from integrations.sage.base import StatusNoteData
from integrations.sage.connector import ErpConnector
from integrations.sage.mapping import status_mapping_get
from payments.services.status_writebacks import DECLINED
from portal.pci import card_numbers_mask


def _linked_number(*, posting: ErpPosting, customer_id: int | None) -> str:
    if customer_id is None:
        return ""
    link = CustomerLink.objects.filter(customer_id=customer_id, connection=posting.connection).first()
    return link.external_id if link else ""


def status_note_build(*, posting: ErpPosting, connector: ErpConnector) -> StatusNoteData:
    # The mapping is read again when the note is sent: finance may have set the action to none since.
    mapping = status_mapping_get(erp=posting.connection.system, paytrace_status=DECLINED)
    if mapping.action != StatusMapping.Action.STATUS_NOTE:
        raise PostingNotNeeded(f"status mapping {mapping} writes nothing back")
    transaction = posting.transaction
    invoice_number = order_number = customer_number = ""
    if transaction.invoice_reference:
        # The ERP is the source of truth: the invoice as it holds it names the customer.
        invoice = connector.invoice_get(number=transaction.invoice_reference)
        if invoice is not None:
            invoice_number, customer_number = invoice.number, invoice.customer_number
    order = transaction.order if transaction.order_id else None
    if not invoice_number and order is not None and order.erp_order_number:
        order_number = order.erp_order_number
        customer_number = _linked_number(posting=posting, customer_id=order.customer_id)
    customer_number = customer_number or _linked_number(posting=posting, customer_id=transaction.customer_id)
    if not customer_number:
        raise PostingNotNeeded(
            f"PayTrace transaction {transaction.transaction_id} names no invoice, order or customer"
            f" {posting.connection.name} knows: nothing there to write its status on"
        )
    target = "invoice" if invoice_number else "order" if order_number else "customer"
    if target not in connector.status_note_targets:
        raise PostingNotNeeded(
            f"{posting.connection.name} keeps a payment status on "
            f"{' or '.join(sorted(connector.status_note_targets))} only, and this payment names none"
        )
    amount = f"{transaction.amount} {transaction.currency}"
    why = card_numbers_mask(transaction.status_message or "declined")[:120]
    return StatusNoteData(
        reference=posting.reference,
        customer_number=customer_number,
        erp_status=mapping.erp_status,
        note=f"{mapping.erp_status}: PayTrace {transaction.transaction_id} for {amount} ({why})",
        note_date=transaction.occurred_at.date(),
        invoice_number=invoice_number,
        order_number=order_number,
    )
