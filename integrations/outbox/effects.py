"""What a posted document changes on our side: the ERP's number lands on the rows it belongs to."""

from integrations.models import ErpPosting
from integrations.sage.base import ErpDocument
from payments.models import CreditMemo, JournalEntry

DocumentType = ErpPosting.DocumentType


def posting_effects_apply(*, posting: ErpPosting, document: ErpDocument) -> None:
    if posting.document_type == DocumentType.CREDIT_MEMO and posting.credit_memo_id:
        CreditMemo.objects.filter(pk=posting.credit_memo_id).update(erp_document_number=document.number)
    elif posting.document_type == DocumentType.JOURNAL_ENTRY and posting.journal_entry_id:
        JournalEntry.objects.filter(pk=posting.journal_entry_id).update(erp_document_number=document.number)
    for effect in EXTRA_EFFECTS.get(posting.document_type, ()):
        effect(posting=posting, document=document)


# Other apps add what a document type means to them (an order moving on when its sales order exists).
EXTRA_EFFECTS: dict[str, list] = {}
