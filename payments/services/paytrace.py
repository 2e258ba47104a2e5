"""PayTrace transactions into our tables: one upsert path for polling, webhook hints and batch imports.

Polling reads PayTrace's export API from a per-connection cursor with an overlap window. The export is
filtered by creation date (account-local days), so each run re-reads from the day of
`position - overlap` to today. The cursor advances only after a run succeeds: a run that dies is simply
read again, and the idempotent upsert makes the re-read harmless. A lease on the cursor keeps two runs of
the same connection from overlapping."""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.cursors import SyncSummary, sync_cursor_claim, sync_cursor_release
from integrations.models import Connection
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.records import transaction_record_parse
from integrations.selectors import connection_timezone
from payments.models import Transaction
from payments.services.transactions import TransactionSyncResult, transaction_sync_from_record

FIRST_RUN_LOOKBACK = timedelta(days=7)
REFUND_TYPES = frozenset({"REFUND", "CREDIT", "CHECK REFUND", "ACH REFUND"})

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


def paytrace_transactions_sync(
    *,
    connection: Connection,
    client: PayTraceClient | None = None,
    on_change: TransactionChanged | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
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
    changed = 0
    records: list[dict] = []
    try:
        records = client.transactions_export_by_date_range(
            start_date=start.astimezone(zone).date(), end_date=now.astimezone(zone).date()
        )
        # Sales before refunds, so a refund in the same window finds its sale already stored.
        records.sort(key=lambda raw: str(raw.get("transaction_type", "")).upper() in REFUND_TYPES)
        for index, raw in enumerate(records, start=1):
            changed += paytrace_record_ingest(
                connection=connection, client=client, raw=raw, on_change=on_change
            ).changed
            if progress:
                progress(index, len(records))
    except Exception as exc:
        sync_cursor_release(cursor=cursor, position=None, seen=0, error=f"{type(exc).__name__}: {exc}")
        raise
    sync_cursor_release(cursor=cursor, position=now, seen=len(records), error="")
    return SyncSummary(connection=connection.name, records=len(records), changed=changed, window_start=start)
