"""Importing settlement batches from PayTrace: the batch summary, then its transaction list.

Each listed transaction goes through the one forward-only upsert (`paytrace_record_ingest`), so a sale
first seen in a batch is decided like any other; the batch is then linked to its transactions in one
UPDATE. What only the import can see becomes an exception at once: the same transaction listed twice or
already in another batch, and an amount PayTrace settled that differs from the one the portal held."""

from collections import Counter
from datetime import date

from django.db import transaction as db_transaction

from integrations.models import Connection
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.records import BatchRecord, batch_record_parse, transaction_record_parse
from integrations.selectors import connection_timezone
from payments.models import ReconciliationException, SettlementBatch, Transaction
from payments.services.paytrace import TransactionChanged, paytrace_record_ingest

Kind = ReconciliationException.Kind


def _batch_upsert(*, connection: Connection, record: BatchRecord) -> SettlementBatch:
    fields = {
        "settled_at": record.settled_at,
        "transaction_count": record.transaction_count,
        "sales_amount": record.sales_amount,
        "refund_amount": record.refund_amount,
        "net_amount": record.net_amount,
        "raw": record.raw,
    }
    batch, created = SettlementBatch.objects.get_or_create(
        connection=connection, batch_number=str(record.batch_number), defaults=fields
    )
    if not created and batch.status != SettlementBatch.Status.RECONCILED:
        for name, value in fields.items():
            setattr(batch, name, value)
        batch.save(update_fields=[*fields, "updated_at"])
    return batch


def _import_exceptions(
    *, batch: SettlementBatch, records: list, before: dict[str, tuple]
) -> list[ReconciliationException]:
    """`before` maps a transaction id to (pk, amount, batch id) as the portal held it before the import."""
    found = []
    for transaction_id, count in Counter(record.transaction_id for record in records).items():
        if count > 1:
            found.append(
                ReconciliationException(
                    kind=Kind.DUPLICATE,
                    dedup_key=f"dup-list-{batch.pk}-{transaction_id}",
                    settlement_batch=batch,
                    reason=f"Batch {batch.batch_number} lists transaction {transaction_id} {count} times.",
                )
            )
    for record in {record.transaction_id: record for record in records}.values():
        pk, amount, batch_id = before.get(record.transaction_id, (None, None, None))
        about = {"settlement_batch": batch, "transaction_id": pk, "currency": record.currency}
        if batch_id is not None and batch_id != batch.pk:
            found.append(
                ReconciliationException(
                    kind=Kind.DUPLICATE,
                    dedup_key=f"dup-batch-{batch.pk}-{record.transaction_id}",
                    reported_amount=record.amount,
                    difference=record.amount,
                    reason=f"Transaction {record.transaction_id} is in batch {batch.batch_number} and in an"
                    " earlier batch.",
                    **about,
                )
            )
        if amount is not None and amount != record.amount:
            found.append(
                ReconciliationException(
                    kind=Kind.AMOUNT_MISMATCH,
                    dedup_key=f"amount-{batch.pk}-{record.transaction_id}",
                    expected_amount=amount,
                    reported_amount=record.amount,
                    difference=record.amount - amount,
                    reason=f"PayTrace settled {record.transaction_id} for {record.amount}; the portal (and"
                    f" any ERP document planned from it) had {amount}.",
                    **about,
                )
            )
    return found


def settlement_batch_import(
    *, connection: Connection, client: PayTraceClient, raw: dict, on_change: TransactionChanged | None = None
) -> SettlementBatch:
    zone = connection_timezone(connection)
    record = batch_record_parse(raw, tz=zone)
    listed = client.batch_transaction_list(batch_number=record.batch_number)
    records = [transaction_record_parse(item, tz=zone) for item in listed]
    ids = {item.transaction_id for item in records}
    with db_transaction.atomic():
        batch = _batch_upsert(connection=connection, record=record)
        before = {
            transaction_id: (pk, amount, batch_id)
            for transaction_id, pk, amount, batch_id in Transaction.objects.filter(
                connection=connection, transaction_id__in=ids
            ).values_list("transaction_id", "pk", "amount", "settlement_batch_id")
        }
        seen = set()
        for item, parsed in zip(listed, records, strict=True):
            if parsed.transaction_id not in seen:
                seen.add(parsed.transaction_id)
                paytrace_record_ingest(connection=connection, client=client, raw=item, on_change=on_change)
        Transaction.objects.filter(
            connection=connection, transaction_id__in=ids, settlement_batch__isnull=True
        ).update(settlement_batch=batch)
        ReconciliationException.objects.bulk_create(
            _import_exceptions(batch=batch, records=records, before=before), ignore_conflicts=True
        )
    return batch


def settlement_batches_import(
    *,
    connection: Connection,
    start_date: date,
    end_date: date,
    client: PayTraceClient | None = None,
    on_change: TransactionChanged | None = None,
) -> list[SettlementBatch]:
    client = client or PayTraceClient.from_connection(connection)
    return [
        settlement_batch_import(connection=connection, client=client, raw=raw, on_change=on_change)
        for raw in client.batches_export(start_date=start_date, end_date=end_date)
    ]


def settlement_batch_import_one(
    *,
    connection: Connection,
    client: PayTraceClient,
    batch_number: int | None,
    on_change: TransactionChanged | None = None,
) -> SettlementBatch:
    """One batch by number (the latest when None): what a `batch.settled` hint names."""
    raw = client.batch_export_one(batch_number=batch_number)
    return settlement_batch_import(connection=connection, client=client, raw=raw, on_change=on_change)
