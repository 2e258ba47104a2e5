"""Inbox handlers of the payment events: transactions, chargebacks and settled batches, registered with
the inbox from the app's `ready()`.

An event is only a hint: the transaction is re-read from PayTrace by id, and a batch is imported from
PayTrace's own batch export, before anything is recorded."""

from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.inbox import Context, EventNotFound, inbox_batch_handler_register, inbox_handler_register
from integrations.models import WebhookEvent
from payments.inbox_batch import transaction_events_batch_handle
from payments.services.chargebacks import chargeback_record
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide
from payments.services.settlement import settlement_batch_import_one


def _when(value: object) -> datetime:
    parsed = parse_datetime(str(value)) if value else None
    if parsed is None:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def transaction_event_handle(event: WebhookEvent, context: Context) -> None:
    transaction_id = str(event.payload["data"]["transactionId"])
    raw = context.client.transaction_export_by_id(transaction_id=transaction_id)
    if raw is None:
        raise EventNotFound(f"PayTrace has no transaction {transaction_id}")
    result = paytrace_record_ingest(
        connection=context.connection, client=context.client, raw=raw, on_change=transaction_decide
    )
    event.transaction = result.transaction


def chargeback_event_handle(event: WebhookEvent, context: Context) -> None:
    data = event.payload["data"]
    transaction_id = str(data["transactionId"])
    raw = context.client.transaction_export_by_id(transaction_id=transaction_id)
    if raw is None:
        raise EventNotFound(f"PayTrace has no transaction {transaction_id}")
    sale = paytrace_record_ingest(
        connection=context.connection, client=context.client, raw=raw, on_change=transaction_decide
    ).transaction
    amount = data.get("amount")
    chargeback = chargeback_record(
        sale=sale,
        amount=Decimal(str(amount)) if amount not in (None, "") else None,
        occurred_at=_when(data.get("timestamp") or event.payload.get("created")),
        reason=str(data.get("reason") or data.get("processorResponseCode") or ""),
        source=f"webhook {event.event_id}",
    ).transaction
    event.transaction = chargeback


def batch_settled_event_handle(event: WebhookEvent, context: Context) -> None:
    number = event.payload["data"].get("batchNumber")
    settlement_batch_import_one(
        connection=context.connection,
        client=context.client,
        batch_number=int(number) if number not in (None, "") else None,
        on_change=transaction_decide,
    )


def payments_inbox_register() -> None:
    for event_type in (
        "transaction.success",
        "transaction.declined",
        "transaction.refund",
        "transaction.void",
    ):
        inbox_handler_register(event_type=event_type, handler=transaction_event_handle)
        inbox_batch_handler_register(event_type=event_type, handler=transaction_events_batch_handle)
    inbox_handler_register(event_type="chargeback.created", handler=chargeback_event_handle)
    inbox_handler_register(event_type="batch.settled", handler=batch_settled_event_handle)
