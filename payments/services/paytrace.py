"""PayTrace transactions into our tables: one upsert path for polling, webhook hints and batch imports.

Polling reads PayTrace's export API from a per-connection cursor with an overlap window. The export is
filtered by creation date (account-local days), so each run re-reads from the day of
`position - overlap` to today, one day per slice (a first run goes back `FIRST_RUN_LOOKBACK`, never in one
read). The time budget is checked before each record; after each day read in full the cursor advances to
the end of that day, so a run stopped by its budget, or killed, resumes at the day it was in, and the
idempotent upsert makes the re-read harmless. A lease on the cursor, renewed by each slice, keeps two runs
of the same connection from overlapping."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from integrations.claims import Budget
from integrations.cursors import SyncSummary, sync_cursor_advance, sync_cursor_claim, sync_cursor_release
from integrations.memo import memo_scope
from integrations.models import Connection
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.records import transaction_record_parse
from integrations.selectors import connection_timezone
from payments.models import Transaction
from payments.services.transactions import TransactionSyncResult, transaction_sync_from_record

FIRST_RUN_LOOKBACK = timedelta(days=7)
REFUND_TYPES = frozenset({"REFUND", "CREDIT", "CHECK REFUND", "ACH REFUND"})
MEMO_CHUNK = 100  # records ingested under one memo scope, as a drain batch is

Progress = Callable[[int, int], None]


# Called with each transaction a record created or changed: the "decide" step (risk, ERP postings).
TransactionChanged = Callable[[Transaction], None]


def paytrace_record_ingest(
    *, connection: Connection, client: PayTraceClient, raw: dict, on_change: TransactionChanged | None = None
) -> TransactionSyncResult:
    """Upsert one export record. A refund whose sale we have never seen fetches the sale first, so
    out-of-order arrival still links the two."""
    record = transaction_record_parse(raw, tz=connection_timezone(connection))
    original_id = record.original_transaction_id
    if (
        original_id
        and not Transaction.objects.filter(connection=connection, transaction_id=original_id).exists()
    ):
        original_raw = client.transaction_export_by_id(transaction_id=original_id)
        if original_raw is not None:
            paytrace_record_ingest(
                connection=connection, client=client, raw=original_raw, on_change=on_change
            )
    result = transaction_sync_from_record(connection=connection, record=record)
    # Pending also when unchanged: an earlier delivery's decide step died before it finished.
    if result.transaction.decision_pending and on_change is not None:
        on_change(result.transaction)
    return result


@dataclass
class _Slices:
    """What a run has read so far, and whether its budget stopped it."""

    read: int = 0
    changed: int = 0
    stopped: bool = False


def _day_ingest(
    *,
    connection: Connection,
    client: PayTraceClient,
    day: date,
    on_change: TransactionChanged | None,
    progress: Progress | None,
    budget: Budget | None,
    slices: _Slices,
) -> int:
    """Ingest one account-local day of the export while the budget lasts; returns how many records the day
    holds (`slices.stopped` says whether it was cut short)."""
    records = client.transactions_export_by_date_range(start_date=day, end_date=day)
    # Sales before refunds, so a refund in the same day finds its sale already stored.
    records.sort(key=lambda raw: str(raw.get("transaction_type", "")).upper() in REFUND_TYPES)
    for start in range(0, len(records), MEMO_CHUNK):
        # Reads nothing in the chunk changes (mapping rows, a customer's open invoices in the ERP) are made
        # once for the chunk's records (`integrations.memo`), a few seconds' work, not once per record.
        with memo_scope():
            for index, raw in enumerate(records[start : start + MEMO_CHUNK], start=start + 1):
                if budget is not None and budget.spent():
                    slices.stopped = True
                    return len(records)
                result = paytrace_record_ingest(
                    connection=connection, client=client, raw=raw, on_change=on_change
                )
                slices.read += 1
                slices.changed += result.changed
                if progress:
                    progress(index, len(records))
    return len(records)


def paytrace_transactions_sync(
    *,
    connection: Connection,
    client: PayTraceClient | None = None,
    on_change: TransactionChanged | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    budget: Budget | None = None,
) -> SyncSummary:
    now = now or timezone.now()
    cursor = sync_cursor_claim(connection=connection, resource="transactions", now=now)
    if cursor is None:
        return SyncSummary(connection=connection.name, skipped=True)
    client = client or PayTraceClient.from_connection(connection)
    start = (
        (cursor.position - timedelta(seconds=cursor.overlap_seconds))
        if cursor.position
        else now - FIRST_RUN_LOOKBACK
    )
    zone = connection_timezone(connection)
    day, today = start.astimezone(zone).date(), now.astimezone(zone).date()
    slices = _Slices()
    try:
        while day <= today and not slices.stopped:
            held = _day_ingest(
                connection=connection,
                client=client,
                day=day,
                on_change=on_change,
                progress=progress,
                budget=budget,
                slices=slices,
            )
            if not slices.stopped:
                end = min(datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone), now)
                sync_cursor_advance(cursor=cursor, position=end, seen=held, now=timezone.now())
                day += timedelta(days=1)
    except Exception as exc:
        sync_cursor_release(cursor=cursor, position=None, seen=0, error=f"{type(exc).__name__}: {exc}")
        raise
    sync_cursor_release(cursor=cursor, position=None if slices.stopped else now, seen=0, error="")
    return SyncSummary(
        connection=connection.name,
        records=slices.read,
        changed=slices.changed,
        window_start=start,
        complete=not slices.stopped,
    )
