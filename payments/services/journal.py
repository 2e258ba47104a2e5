"""Journal entries the portal composes itself (fees, net deposits, write-offs), planned in bulk.

Each entry is written with its lines and its outbox row in three bulk inserts; an entry whose reference
already exists is left alone, so planning the same thing twice adds nothing."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from integrations.models import Connection, ErpPosting
from integrations.outbox.services import postings_wake
from payments.models import ZERO, JournalEntry, JournalEntryLine, SettlementBatch, Transaction


@dataclass(frozen=True)
class JournalLineDraft:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    description: str = ""


@dataclass(frozen=True)
class JournalDraft:
    kind: str
    reference: str
    erp_connection: Connection
    entry_date: date
    currency: str
    description: str
    lines: tuple[JournalLineDraft, ...]
    settlement_batch: SettlementBatch | None = None
    transaction: Transaction | None = None


def balancing_lines(
    *, amount: Decimal, debit_account: str, credit_account: str, description: str
) -> tuple[JournalLineDraft, ...]:
    """Two lines moving `amount` from `credit_account` to `debit_account`; a negative amount moves it back."""
    if amount < ZERO:
        debit_account, credit_account, amount = credit_account, debit_account, -amount
    return (
        JournalLineDraft(account=debit_account, debit=amount, description=description),
        JournalLineDraft(account=credit_account, credit=amount, description=description),
    )


def journal_entries_plan(*, drafts: list[JournalDraft]) -> dict[str, JournalEntry]:
    """Create the entries not yet on file, their lines and their pending postings; returns every entry
    named by `drafts`, by reference (those already on file included)."""
    references = [draft.reference for draft in drafts]
    existing = {entry.reference: entry for entry in JournalEntry.objects.filter(reference__in=references)}
    new = [draft for draft in drafts if draft.reference not in existing and draft.lines]
    entries = JournalEntry.objects.bulk_create(
        [
            JournalEntry(
                kind=draft.kind,
                reference=draft.reference,
                erp_connection=draft.erp_connection,
                entry_date=draft.entry_date,
                currency=draft.currency,
                description=draft.description[:255],
                settlement_batch=draft.settlement_batch,
                transaction=draft.transaction,
            )
            for draft in new
        ]
    )
    JournalEntryLine.objects.bulk_create(
        [
            JournalEntryLine(
                entry=entry,
                line_number=number,
                account=line.account,
                debit=line.debit,
                credit=line.credit,
                description=line.description[:255],
            )
            for entry, draft in zip(entries, new, strict=True)
            for number, line in enumerate(draft.lines, start=1)
        ]
    )
    ErpPosting.objects.bulk_create(
        [
            ErpPosting(
                connection=draft.erp_connection,
                document_type=ErpPosting.DocumentType.JOURNAL_ENTRY,
                reference=entry.reference,
                status=ErpPosting.Status.PENDING,
                journal_entry=entry,
                transaction=draft.transaction,
            )
            for entry, draft in zip(entries, new, strict=True)
        ],
        ignore_conflicts=True,
    )
    if new:
        postings_wake()
    return {**existing, **{entry.reference: entry for entry in entries}}
