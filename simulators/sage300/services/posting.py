"""The `$process` endpoints. Posting batches (`ARPostInvoices`, `ARPostReceiptsAndAdjustments`,
`GLPostJournal`): entering a batch changes no balance; posting does, as in Sage 300. Like every
`$process`, they answer with no body (the Postman instructions, "Invoke Process Endpoint")."""

from decimal import Decimal
from typing import Any

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company
from simulators.sage300.services.common import amount_parse, counter_next
from simulators.sage300.services.invoices import invoice_batch_post
from simulators.sage300.services.receipts import adjustment_batch_post, receipt_batch_post


def _journal_batch_post(*, company: Company, batch: Batch) -> None:
    """GL account balances are not modelled: posting a journal batch only closes it."""


_POSTERS = {
    Batch.Kind.AR_INVOICE: invoice_batch_post,
    Batch.Kind.AR_RECEIPT: receipt_batch_post,
    Batch.Kind.AR_ADJUSTMENT: adjustment_batch_post,
    Batch.Kind.GL_JOURNAL: _journal_batch_post,
}


# The edmx's InvoiceBatch and ReceiptAndAdjustmentBatch carry the PostingSequenceNumber posting gave them;
# Sage's GLJournalBatches sample shows none.
_SEQUENCED = frozenset((Batch.Kind.AR_INVOICE, Batch.Kind.AR_RECEIPT, Batch.Kind.AR_ADJUSTMENT))


def batches_post(*, company: Company, kind: str, payload: dict[str, Any]) -> None:
    """Post the ReadyToPost batches of one kind: all of them with `PostAllBatches: "Postallbatches"`, the
    only value Sage documents (SampleIntegration); otherwise those from `PostBatchFrom` to `PostBatchTo`,
    a reading of the PostInvoice type's range properties that no artefact shows in use [U]. Open
    batches are left alone, as Sage does."""
    batches = Batch.objects.select_for_update().filter(company=company, kind=kind, status="ReadyToPost")
    if payload.get("PostAllBatches") != "Postallbatches":
        low = int(amount_parse(payload.get("PostBatchFrom"), field="PostBatchFrom"))
        high = int(amount_parse(payload.get("PostBatchTo"), field="PostBatchTo", default=Decimal(low)))
        batches = batches.filter(number__gte=low, number__lte=high)
    for batch in batches.order_by("number"):
        _POSTERS[kind](company=company, batch=batch)
        batch.status = "Posted"
        if kind in _SEQUENCED:
            sequence = counter_next(company=company, name=f"post_{kind}")
            batch.payload = {**batch.payload, "PostingSequenceNumber": sequence}
        batch.save(update_fields=["status", "payload"])


def receipt_batches_post(*, company: Company, payload: dict[str, Any]) -> None:
    """ARPostReceiptsAndAdjustments: BatchType (CA or AD) says which batches."""
    kinds = {"CA": Batch.Kind.AR_RECEIPT, "AD": Batch.Kind.AR_ADJUSTMENT}
    if payload.get("BatchType") not in kinds:
        raise field_invalid(f'Batch type "{payload.get("BatchType")}" is not valid; use CA or AD.')
    batches_post(company=company, kind=kinds[payload["BatchType"]], payload=payload)


def process_without_effect(*, company: Company, payload: dict[str, Any]) -> None:
    """`ICDayEndProcessing` and `ARCreateGLBatch`: accepted as SampleIntegration and the Postman
    collection send them; the simulator keeps no costing and no GL integration for them to act on."""
