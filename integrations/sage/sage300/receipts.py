"""Receipts into Sage 300: several per CA batch, one bad entry isolated, and reversal by AD adjustment.

Receipts go in as one CA batch per `receipt_batch_size` receipts of one bank, marked `BatchStatus:
ReadyToPost`, then that batch alone is posted with `ARPostReceiptsAndAdjustments('$process')`. ReadyToPost
only flags a batch; balances move when it is posted, and finance expects a paid invoice to show as paid.
Two calls per batch keep the ERP calls per payment far under the 1.1 target.
"""

import re
from collections.abc import Callable

from integrations.sage.base import (
    BatchItemResult,
    ErpDocument,
    ErpPermanentError,
    ErpTransientError,
    ReceiptData,
    ReversalData,
)
from integrations.sage.sage300 import payloads
from integrations.sage.sage300.client import Record, Sage300Client
from integrations.sage.sage300.documents import (
    POST_RECEIPTS,
    RECEIPT_BATCHES,
    batch_description,
    batch_enter_and_post,
    receipt_document,
    receipt_find,
    reversal_document,
)

Chunk = list[tuple[int, ReceiptData]]
_RECEIPT_NUMBER = re.compile(r"^CA(\d+)-(\d+)$")


def receipt_blamed(message: str, receipts: list[ReceiptData]) -> int | None:
    """The position of the one receipt an error names (by reference, else by an invoice it applies to,
    else by customer), or None when the message does not single one out."""

    def mentions(token: str) -> bool:
        return bool(token) and re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", message) is not None

    for tokens in (
        lambda receipt: [receipt.reference],
        lambda receipt: [application.invoice_number for application in receipt.applications],
        lambda receipt: [receipt.customer_number],
    ):
        hits = [
            index
            for index, receipt in enumerate(receipts)
            if any(mentions(token) for token in tokens(receipt))
        ]
        if len(hits) == 1:
            return hits[0]
    return None


def _failed(chunk: Chunk, error: Exception) -> dict[int, BatchItemResult]:
    return {index: BatchItemResult(receipt.reference, error=error) for index, receipt in chunk}


def _batch(client: Sage300Client, chunk: Chunk, *, bank_code: str) -> dict[int, BatchItemResult]:
    if not bank_code:
        return _failed(
            chunk, ErpPermanentError("No Sage 300 bank code: set the connection's bank_code option.")
        )
    body = payloads.receipt_batch_body([receipt for _, receipt in chunk], bank_code=bank_code)
    try:
        batch = batch_enter_and_post(client, RECEIPT_BATCHES, body, POST_RECEIPTS, batch_type="CA")
    except ErpTransientError as error:
        return _failed(chunk, error)
    except ErpPermanentError as error:
        return _refused(client, chunk, error, bank_code=bank_code)
    return {
        index: BatchItemResult(receipt.reference, document=receipt_document(batch["BatchNumber"], entry))
        for (index, receipt), entry in zip(chunk, batch["ReceiptsAdjustments"], strict=True)
    }


def _refused(
    client: Sage300Client, chunk: Chunk, error: ErpPermanentError, *, bank_code: str
) -> dict[int, BatchItemResult]:
    """Sage refuses a whole batch for one bad entry. When the error names the entry, it alone fails and
    the rest go again as one batch; when it does not, the entries go one by one so the good receipts
    still get through (more round trips, only on this rare path)."""
    if len(chunk) == 1:
        return _failed(chunk, error)
    blamed = receipt_blamed(error.message, [receipt for _, receipt in chunk])
    if blamed is None:
        results: dict[int, BatchItemResult] = {}
        for item in chunk:
            results.update(_batch(client, [item], bank_code=bank_code))
        return results
    results = _failed(chunk[blamed : blamed + 1], error)
    results.update(_batch(client, chunk[:blamed] + chunk[blamed + 1 :], bank_code=bank_code))
    return results


def receipt_batch_post(
    client: Sage300Client, *, receipts: list[ReceiptData], bank_code: str
) -> list[BatchItemResult]:
    """One CA batch (its receipts share `bank_code`): one result per receipt, in the order given."""
    results = _batch(client, list(enumerate(receipts)), bank_code=bank_code)
    return [results[index] for index in range(len(receipts))]


def _receipt_locate(client: Sage300Client, reversal: ReversalData) -> tuple[Record, Record]:
    match = _RECEIPT_NUMBER.match(reversal.original_document_number)
    if match is None:
        found = receipt_find(client, reversal.original_reference)
        match = _RECEIPT_NUMBER.match(found.number) if found else None
    if match:
        path = f"{RECEIPT_BATCHES}(BatchRecordType='CA',BatchNumber={int(match[1])})"
        batch = client.get_entry(path) or {}
        for entry in batch.get("ReceiptsAdjustments") or []:
            if str(entry.get("EntryNumber")) == match[2]:
                return batch, entry
    raise ErpPermanentError(
        f"Receipt {reversal.original_reference} is not in Sage 300.", code="RecordNotFound"
    )


def receipt_reverse(
    client: Sage300Client, *, reversal: ReversalData, bank_account: Callable[[str], str]
) -> ErpDocument:
    """An AD adjustment batch giving back what the receipt paid, against the bank's GL account."""
    batch, entry = _receipt_locate(client, reversal)
    try:
        lines = payloads.reversal_lines(entry, amount=reversal.amount)
    except ValueError as error:
        raise ErpPermanentError(f"Cannot reverse: {error}.", code="RecordInvalid") from error
    body = payloads.reversal_batch_body(
        reversal,
        lines=lines,
        bank_account=bank_account(batch["BankCode"]),
        description=batch_description("reversal", reversal.reference),
    )
    created = batch_enter_and_post(client, RECEIPT_BATCHES, body, POST_RECEIPTS, batch_type="AD")
    return reversal_document(created, reversal.reference)
