"""GLJournalBatches (GL0008): batch -> JournalHeaders -> JournalDetails, Amount +debit / -credit.

Sage 300 saves an out-of-balance entry and refuses it at posting; the simulator refuses it on entry
(409 FieldInvalid) so a client's unbalanced journal is caught where it was made."""

from decimal import Decimal
from typing import Any

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company
from simulators.sage300.selectors import Record, batch_record
from simulators.sage300.services.common import (
    account_require,
    amount_parse,
    batch_status_parse,
    counter_next,
    date_parse,
    today,
)


def _details(*, company: Company, header: dict[str, Any], number: str, entry_number: str) -> list[dict]:
    details = []
    for index, detail in enumerate(header.get("JournalDetails") or [], start=1):
        account_require(company=company, number=detail.get("AccountNumber"))
        amount = amount_parse(detail.get("Amount"), field="Amount")
        details.append(
            {
                **detail,
                "BatchNumber": number,
                "EntryNumber": entry_number,
                "TransactionNumber": f"{index * 20:010d}",
                "Amount": amount,
                "SourceCurrencyAmount": amount_parse(
                    detail.get("SourceCurrencyAmount"), field="Amount", default=amount
                ),
            }
        )
    if len(details) < 2:
        raise field_invalid(f"Entry {entry_number} needs at least two details.")
    difference = sum((detail["Amount"] for detail in details), Decimal("0"))
    if difference:
        raise field_invalid(f"Entry {entry_number} is out of balance by {difference}.")
    return details


def journal_batch_create(*, company: Company, payload: dict[str, Any]) -> Record:
    """The batch's status is `Status`, as Sage's GLJournalBatches sample writes it (`"Status": "Open"`),
    with the GL JournalBatchStatus members; the AR batches' `BatchStatus` is not a GL property."""
    status = batch_status_parse(payload.get("Status"))
    headers = payload.get("JournalHeaders") or []
    if not headers:
        raise field_invalid("The batch has no entries.")
    number = f"{counter_next(company=company, name='gl_batch'):06d}"
    entries = []
    for index, header in enumerate(headers, start=1):
        entry_number = f"{index:05d}"
        document_date = date_parse(
            header.get("DocumentDate") or today().isoformat(), company=company, field="Date"
        )
        entries.append(
            {
                **header,
                "BatchNumber": number,
                "EntryNumber": entry_number,
                "SourceLedger": header.get("SourceLedger") or "GL",
                "SourceType": header.get("SourceType") or "JE",
                "DocumentDate": document_date.isoformat(),
                "JournalDetails": _details(
                    company=company, header=header, number=number, entry_number=entry_number
                ),
            }
        )
    record = {
        "BatchNumber": number,
        "Description": str(payload.get("Description") or ""),
        "JournalHeaders": entries,
    }
    batch = Batch.objects.create(
        company=company, kind=Batch.Kind.GL_JOURNAL, number=int(number), status=status, payload=record
    )
    return batch_record(batch)
