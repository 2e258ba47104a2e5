"""Posting batches (`ARPostInvoices`, `ARPostReceiptsAndAdjustments`, `GLPostJournal` `$process`):
entering a batch changes no balance; posting does, as in Sage 300."""

from decimal import Decimal
from typing import Any

from simulators.sage300.models import Batch, Company
from simulators.sage300.selectors import Record
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


def batches_post(*, company: Company, kind: str, payload: dict[str, Any]) -> Record:
    """Post the ReadyToPost batches of one kind: all of them (`PostAllBatches: "Postallbatches"`) or those
    from `PostBatchFrom` to `PostBatchTo`. Open batches in the range are left alone, as Sage does."""
    batches = Batch.objects.select_for_update().filter(company=company, kind=kind, status="ReadyToPost")
    if payload.get("PostAllBatches") != "Postallbatches":
        low = int(amount_parse(payload.get("PostBatchFrom"), field="PostBatchFrom"))
        high = int(amount_parse(payload.get("PostBatchTo"), field="PostBatchTo", default=Decimal(low)))
        batches = batches.filter(number__gte=low, number__lte=high)
    for batch in batches.order_by("number"):
        _POSTERS[kind](company=company, batch=batch)
        batch.status = "Posted"
        batch.payload = {
            **batch.payload,
            "PostingSequenceNumber": counter_next(company=company, name=f"post_{kind}"),
        }
        batch.save(update_fields=["status", "payload"])
    return payload
