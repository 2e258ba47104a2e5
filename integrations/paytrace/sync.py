"""Polling PayTrace's export API from a per-connection cursor with an overlap window.

The export is filtered by creation date (account-local days), so each run re-reads from the day of
`position - overlap` to today. The cursor advances only after a run succeeds: a run that dies is simply
read again, and the idempotent upsert makes the re-read harmless. A lease on the cursor keeps two runs of
the same connection from overlapping."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.cursors import sync_cursor_claim, sync_cursor_release
from integrations.models import Connection
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.ingest import (
    TransactionChanged,
    connection_timezone,
    paytrace_customer_ingest,
    paytrace_record_ingest,
)

FIRST_RUN_LOOKBACK = timedelta(days=7)
REFUND_TYPES = frozenset({"REFUND", "CREDIT", "CHECK REFUND", "ACH REFUND"})

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncSummary:
    connection: str
    skipped: bool = False
    records: int = 0
    changed: int = 0
    window_start: datetime | None = None


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


def paytrace_customers_sync(*, connection: Connection, client: PayTraceClient | None = None) -> SyncSummary:
    now = timezone.now()
    cursor = sync_cursor_claim(connection=connection, resource="customers", now=now)
    if cursor is None:
        return SyncSummary(connection=connection.name, skipped=True)
    client = client or PayTraceClient.from_connection(connection)
    try:
        records = client.customer_export()
        changed = sum(paytrace_customer_ingest(connection=connection, raw=raw) for raw in records)
    except Exception as exc:
        sync_cursor_release(cursor=cursor, position=None, seen=0, error=f"{type(exc).__name__}: {exc}")
        raise
    sync_cursor_release(cursor=cursor, position=now, seen=len(records), error="")
    return SyncSummary(connection=connection.name, records=len(records), changed=changed)
