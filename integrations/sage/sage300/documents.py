"""Sage 300 transaction batches: entering one, posting it alone, the document it stands for, and finding
a document of ours again by our reference.

The Web API has no idempotency key. Every document carries our reference where Sage keeps it
(CheckReceiptNumber + EntryReference, OrderReference, the credit note's DocumentNumber, the batch
Description) and `document_find` looks it up before a retry. A batch of ours found entered but not posted
(the `$process` that should have followed failed or timed out) is posted there and then, so a retry
neither enters it twice nor leaves it unposted.
"""

from collections.abc import Callable

from integrations.models import ErpPosting
from integrations.sage.base import ErpDocument, ErpError, ErpTransientError
from integrations.sage.sage300 import payloads
from integrations.sage.sage300.client import Record, Sage300Client, entry_path, literal

DocumentType = ErpPosting.DocumentType
CUSTOMERS = "AR/ARCustomers"
POSTED_DOCUMENTS = "AR/ARPostedDocuments"
POSTED_RECEIPTS = "AR/ARPostedReceipts"
INVOICE_BATCHES = "AR/ARInvoiceBatches"
RECEIPT_BATCHES = "AR/ARReceiptAndAdjustmentBatches"
POST_INVOICES = "AR/ARPostInvoices('$process')"
POST_RECEIPTS = "AR/ARPostReceiptsAndAdjustments('$process')"
ORDERS = "OE/OEOrders"
JOURNAL_BATCHES = "GL/GLJournalBatches"


def batch_description(kind: str, reference: str) -> str:
    """The batch header text that carries our reference for a one-document batch."""
    return f"Paysage {kind} {reference}"[: payloads.DESCRIPTION_LENGTH]


def batch_post(client: Sage300Client, process: str, *, batch_type: str = "") -> None:
    """Post the batch just entered. "Postallbatches" is the only PostAllBatches value any Sage artefact
    documents (SampleIntegration's `ARPostInvoices('$process')`); the value that would post a range
    (PostBatchFrom..PostBatchTo) is published nowhere. So this posts every batch of the kind that is
    ReadyToPost: ours, and any that finance marked ready to post, which is what that status asks for.
    `$process` answers no body."""
    body: Record = {"BatchType": batch_type} if batch_type else {}
    body["PostAllBatches"] = "Postallbatches"
    client.post(process, body)


def batch_enter_and_post(
    client: Sage300Client, path: str, body: Record, process: str, *, batch_type: str = ""
) -> Record:
    batch = client.post(path, body)
    try:
        batch_post(client, process, batch_type=batch_type)
    except ErpError as error:
        # The batch is in Sage, ready to post: the retry's document_find finds it and posts it.
        raise ErpTransientError(
            f"batch {batch['BatchNumber']} was entered but not posted: {error.message}",
            maybe_applied=True,
            code=error.code,
            http_status=error.http_status,
        ) from error
    return batch


def _posting_finish(client: Sage300Client, batch: Record, process: str, *, batch_type: str = "") -> None:
    if batch.get("BatchStatus") == "ReadyToPost":
        batch_post(client, process, batch_type=batch_type)


def receipt_document(batch_number: object, entry: Record) -> ErpDocument:
    return ErpDocument(
        DocumentType.RECEIPT,
        f"CA{batch_number}-{entry['EntryNumber']}",
        entry["CheckReceiptNumber"],
        raw=entry,
    )


def reversal_document(batch: Record, reference: str) -> ErpDocument:
    return ErpDocument(
        DocumentType.REVERSAL, batch["ReceiptsAdjustments"][0]["DocumentNumber"], reference, raw=batch
    )


def credit_memo_document(batch: Record, reference: str) -> ErpDocument:
    return ErpDocument(DocumentType.CREDIT_MEMO, batch["Invoices"][0]["DocumentNumber"], reference, raw=batch)


def invoice_document(batch: Record, reference: str) -> ErpDocument:
    return ErpDocument(DocumentType.INVOICE, batch["Invoices"][0]["DocumentNumber"], reference, raw=batch)


def journal_document(batch: Record, reference: str) -> ErpDocument:
    return ErpDocument(DocumentType.JOURNAL_ENTRY, str(batch["BatchNumber"]), reference, raw=batch)


def _first(client: Sage300Client, resource: str, query: str) -> Record | None:
    return next(client.feed(resource, query=query, top=1), None)


def _customer_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    number = payloads.customer_number_from_reference(reference)
    record = client.get_entry(entry_path(CUSTOMERS, number))
    return ErpDocument(DocumentType.CUSTOMER, number, reference, raw=record) if record else None


def _sales_order_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    record = _first(client, ORDERS, f"OrderReference eq {literal(reference)}")
    return (
        ErpDocument(DocumentType.SALES_ORDER, record["OrderNumber"], reference, raw=record)
        if record
        else None
    )


def receipt_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    posted = _first(client, POSTED_RECEIPTS, f"CheckReceiptNumber eq {literal(reference)}")
    if posted:
        return receipt_document(posted["BatchNumber"], posted)
    # Not posted: look through the few batches not posted yet; entries cannot be filtered on directly.
    for batch in client.feed(RECEIPT_BATCHES, query="BatchRecordType eq 'CA' and BatchStatus ne 'Posted'"):
        for entry in batch.get("ReceiptsAdjustments") or []:
            if entry.get("CheckReceiptNumber") == reference:
                _posting_finish(client, batch, POST_RECEIPTS, batch_type="CA")
                return receipt_document(batch["BatchNumber"], entry)
    return None


def _ar_document_find(
    client: Sage300Client, reference: str, *, document_type: str, sage_type: str, kind: str
) -> ErpDocument | None:
    """An AR invoice-batch document numbered by our reference: posted, else still in its batch (which is
    posted now, as its first attempt meant to)."""
    query = f"DocumentNumber eq {literal(reference)} and DocumentType eq {literal(sage_type)}"
    posted = _first(client, POSTED_DOCUMENTS, query)
    if posted:
        return ErpDocument(document_type, posted["DocumentNumber"], reference, raw=posted)
    batch = _first(client, INVOICE_BATCHES, f"Description eq {literal(batch_description(kind, reference))}")
    if batch is None:
        return None
    _posting_finish(client, batch, POST_INVOICES)
    return ErpDocument(document_type, batch["Invoices"][0]["DocumentNumber"], reference, raw=batch)


def _credit_memo_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    return _ar_document_find(
        client, reference, document_type=DocumentType.CREDIT_MEMO, sage_type="CreditNote", kind="credit note"
    )


def _invoice_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    return _ar_document_find(
        client, reference, document_type=DocumentType.INVOICE, sage_type="Invoice", kind="invoice"
    )


def _reversal_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    description = batch_description("reversal", reference)
    batch = _first(
        client, RECEIPT_BATCHES, f"BatchRecordType eq 'AD' and Description eq {literal(description)}"
    )
    if batch is None:
        return None
    _posting_finish(client, batch, POST_RECEIPTS, batch_type="AD")
    return reversal_document(batch, reference)


def _journal_find(client: Sage300Client, reference: str) -> ErpDocument | None:
    description = batch_description("journal", reference)
    batch = _first(client, JOURNAL_BATCHES, f"Description eq {literal(description)}")
    return journal_document(batch, reference) if batch else None


_FINDERS: dict[str, Callable[[Sage300Client, str], ErpDocument | None]] = {
    DocumentType.CUSTOMER: _customer_find,
    DocumentType.SALES_ORDER: _sales_order_find,
    DocumentType.RECEIPT: receipt_find,
    DocumentType.CREDIT_MEMO: _credit_memo_find,
    DocumentType.REVERSAL: _reversal_find,
    DocumentType.JOURNAL_ENTRY: _journal_find,
    DocumentType.INVOICE: _invoice_find,
}


def document_find(client: Sage300Client, *, document_type: str, reference: str) -> ErpDocument | None:
    if document_type not in _FINDERS:
        raise ValueError(f"Sage 300 cannot look up a {document_type!r}")
    return _FINDERS[document_type](client, reference)
