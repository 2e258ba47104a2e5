"""What a posted document changes on our side: the ERP's number lands on the rows it belongs to."""

from integrations.models import ErpPosting
from integrations.sage.base import ErpDocument
from payments.models import CreditMemo, JournalEntry
from payments.services.orders import (
    order_customer_posted,
    order_posting_dead,
    order_receipt_posted,
    order_sales_order_posted,
)

DocumentType = ErpPosting.DocumentType


def posting_effects_apply(*, posting: ErpPosting, document: ErpDocument) -> None:
    if posting.document_type == DocumentType.CREDIT_MEMO and posting.credit_memo_id:
        CreditMemo.objects.filter(pk=posting.credit_memo_id).update(erp_document_number=document.number)
    elif posting.document_type == DocumentType.JOURNAL_ENTRY and posting.journal_entry_id:
        JournalEntry.objects.filter(pk=posting.journal_entry_id).update(erp_document_number=document.number)
    for effect in EXTRA_EFFECTS.get(posting.document_type, ()):
        effect(posting=posting, document=document)


# Other apps add what a document type means to them (an order moving on when its sales order exists).
EXTRA_EFFECTS: dict[str, list] = {
    DocumentType.CUSTOMER: [order_customer_posted],
    DocumentType.SALES_ORDER: [order_sales_order_posted],
    DocumentType.RECEIPT: [order_receipt_posted],
}
# ... and what a dead letter stops (the orders waiting on it fail, with the ERP's reason).
DEAD_EFFECTS: list = [order_posting_dead]


def posting_dead_effects_apply(*, posting: ErpPosting) -> None:
    for effect in DEAD_EFFECTS:
        effect(posting=posting)
