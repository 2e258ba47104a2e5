"""The transaction events of one claimed inbox batch, handled together (registered from `ready()`).

Each event is still only a hint: its transaction is re-read from PayTrace first, here for the whole batch
at once in a small pool (`paytrace_transactions_read`). Transactions we have never stored, that refund
nothing, are then created and decided together in one database transaction (`transactions_decide_created`):
the upsert and the decision commit as one, so a batch cut short leaves nothing behind and its events are
claimed again. Every other event (a stored transaction changing, a refund, whose sale may need reading
first, a vault customer's payment) goes through the one upsert path as before, from the record already
read."""

from collections import defaultdict

from django.db import transaction as db_transaction

from integrations.inbox import Context, EventNotFound
from integrations.memo import memo_scope
from integrations.models import WebhookEvent
from integrations.paytrace.reads import paytrace_transactions_read
from integrations.paytrace.records import TransactionRecord, transaction_record_parse
from integrations.selectors import connection_timezone
from payments.models import Transaction
from payments.services.decide_batch import transactions_decide_created
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide
from payments.services.transactions import transactions_create_from_records


def transaction_events_batch_handle(events: list[WebhookEvent], context: Context) -> dict[int, Exception]:
    # Reads that nothing in the batch changes (mapping rows, a customer's open invoices in the ERP) are
    # made once for the batch's events, which are decided within seconds (`integrations.memo`).
    with memo_scope():
        return _events_handle(events=events, context=context)


def _events_handle(*, events: list[WebhookEvent], context: Context) -> dict[int, Exception]:
    failures: dict[int, Exception] = {}
    named: dict[str, list[WebhookEvent]] = defaultdict(list)
    for event in events:
        try:
            named[str(event.payload["data"]["transactionId"])].append(event)
        except (KeyError, TypeError) as exc:
            failures[event.pk] = exc
    reads = paytrace_transactions_read(client=context.client, transaction_ids=named)
    records: dict[str, TransactionRecord] = {}
    zone = connection_timezone(context.connection)
    for transaction_id, raw in reads.items():
        try:
            if isinstance(raw, Exception):
                raise raw
            if raw is None:
                raise EventNotFound(f"PayTrace has no transaction {transaction_id}")
            records[transaction_id] = transaction_record_parse(raw, tz=zone)
        except Exception as exc:  # noqa: BLE001 - recorded on each event naming it
            failures.update({event.pk: exc for event in named[transaction_id]})
    rows = _created(context=context, records=list(records.values()))
    for transaction_id, record in records.items():
        row = rows.get(record.transaction_id)
        if row is None:
            try:
                row = paytrace_record_ingest(
                    connection=context.connection,
                    client=context.client,
                    raw=reads[transaction_id],
                    on_change=transaction_decide,
                ).transaction
            except Exception as exc:  # noqa: BLE001 - recorded on each event naming it
                failures.update({event.pk: exc for event in named[transaction_id]})
                continue
        for event in named[transaction_id]:
            event.transaction = row
    return failures


def _created(*, context: Context, records: list[TransactionRecord]) -> dict[str, Transaction]:
    """Create and decide, together, the records' transactions we have never stored that refund nothing
    and name no vault customer (one may need reading from PayTrace and creating in the ERP first:
    `paytrace_record_ingest` and the receipt's plan do that, one payment at a time)."""
    candidates = [
        record for record in records if not record.original_transaction_id and not record.customer_id
    ]
    stored = set(
        Transaction.objects.filter(
            connection=context.connection, transaction_id__in=[record.transaction_id for record in candidates]
        ).values_list("transaction_id", flat=True)
    )
    fresh = [record for record in candidates if record.transaction_id not in stored]
    if not fresh:
        return {}
    with db_transaction.atomic():
        created = transactions_create_from_records(connection=context.connection, records=fresh)
        transactions_decide_created(transactions=created)
    return {row.transaction_id: row for row in created}
