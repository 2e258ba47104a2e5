"""GLJournalBatches (GL0008): batch -> JournalHeaders -> JournalDetails, Amount +debit / -credit.

Sage 300 saves an out-of-balance entry and refuses it at posting; the simulator refuses it on entry
(409 FieldInvalid) so a client's unbalanced journal is caught where it was made."""

from decimal import Decimal
from typing import Any

from django.utils import timezone

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company
from simulators.sage300.selectors import Record
from simulators.sage300.services.common import (
    account_require,
    amount_parse,
    batch_status_parse,
    counter_next,
    date_parse,
    payload_check,
)

_BATCH = frozenset(("BatchNumber Status BatchStatus Description JournalHeaders").split())
_HEADER = frozenset(
    ("BatchNumber EntryNumber SourceLedger SourceType Description DocumentDate JournalDetails").split()
)
_DETAIL = frozenset(
    (
        "BatchNumber EntryNumber TransactionNumber AccountNumber Amount SourceCurrencyAmount "
        "SourceCurrencyCode Description Reference"
    ).split()
)


def journal_batch_create(*, company: Company, payload: Any) -> Record:
    payload_check(payload=payload, allowed=_BATCH, entity="JournalBatch")
    status = batch_status_parse(payload.get("BatchStatus") or payload.get("Status"))
    headers = payload.get("JournalHeaders") or []
    if not headers:
        raise field_invalid("The batch has no entries.")
    number = f"{counter_next(company=company, name='gl_batch'):06d}"
    entries = []
    for entry_index, raw in enumerate(headers, start=1):
        header = payload_check(payload=raw, allowed=_HEADER, entity="JournalHeader")
        entry_number = f"{entry_index:05d}"
        document_date = date_parse(
            header.get("DocumentDate") or timezone.now().date().isoformat(), field="Date"
        )
        details = []
        for detail_index, raw_detail in enumerate(header.get("JournalDetails") or [], start=1):
            detail = payload_check(payload=raw_detail, allowed=_DETAIL, entity="JournalDetail")
            account_require(company=company, number=detail.get("AccountNumber"))
            amount = amount_parse(detail.get("Amount"), field="Amount")
            details.append(
                {
                    **detail,
                    "BatchNumber": number,
                    "EntryNumber": entry_number,
                    "TransactionNumber": f"{detail_index * 20:010d}",
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
        entries.append(
            {
                **header,
                "BatchNumber": number,
                "EntryNumber": entry_number,
                "SourceLedger": header.get("SourceLedger") or "GL",
                "SourceType": header.get("SourceType") or "JE",
                "DocumentDate": document_date.isoformat(),
                "JournalDetails": details,
            }
        )
    record = {
        "BatchNumber": number,
        "Description": str(payload.get("Description") or ""),
        "JournalHeaders": entries,
    }
    Batch.objects.create(
        company=company, kind=Batch.Kind.GL_JOURNAL, number=int(number), status=status, payload=record
    )
    return {**record, "BatchStatus": status}
