"""Inbox handlers for the payment events the portal acts on itself: chargebacks and settled batches.

Like every inbox handler, an event is only a hint: the sale is re-read from PayTrace by id, and a batch is
imported from PayTrace's own batch export, before anything is recorded."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.models import WebhookEvent
from integrations.paytrace.ingest import paytrace_record_ingest
from payments.services.chargebacks import chargeback_record
from payments.services.settlement import settlement_batch_import_one

if TYPE_CHECKING:
    from integrations.inbox import Context


def _when(value: object) -> datetime:
    parsed = parse_datetime(str(value)) if value else None
    if parsed is None:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def chargeback_event_handle(event: WebhookEvent, context: "Context") -> None:
    from integrations.inbox import EventNotFound

    data = event.payload["data"]
    transaction_id = str(data["transactionId"])
    raw = context.client.transaction_export_by_id(transaction_id=transaction_id)
    if raw is None:
        raise EventNotFound(f"PayTrace has no transaction {transaction_id}")
    sale = paytrace_record_ingest(
        connection=context.connection, client=context.client, raw=raw, on_change=context.on_change
    ).transaction
    amount = data.get("amount")
    chargeback = chargeback_record(
        sale=sale,
        amount=Decimal(str(amount)) if amount not in (None, "") else None,
        occurred_at=_when(data.get("timestamp") or event.payload.get("created")),
        reason=str(data.get("reason") or data.get("processorResponseCode") or ""),
        source=f"webhook {event.event_id}",
    )
    event.transaction = chargeback


def batch_settled_event_handle(event: WebhookEvent, context: "Context") -> None:
    number = event.payload["data"].get("batchNumber")
    settlement_batch_import_one(
        connection=context.connection,
        client=context.client,
        batch_number=int(number) if number not in (None, "") else None,
        on_change=context.on_change,
    )
