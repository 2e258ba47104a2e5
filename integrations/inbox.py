"""Processing the webhook inbox: claim pending rows in batches, re-read from PayTrace, upsert.

An event is only a hint: the transaction (or vault customer) is re-read from PayTrace by id before
anything is decided. A failure is recorded on the row and retried with backoff; after MAX_ATTEMPTS the
row is a dead letter with an alert. Processed rows are never processed again."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.alerts import alert_raise
from integrations.models import Connection, System, WebhookEvent
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceError
from integrations.paytrace.ingest import TransactionChanged, paytrace_customer_ingest, paytrace_record_ingest
from integrations.retry import backoff_next_attempt_at
from integrations.selectors import connection_active_get
from payments.webhooks import batch_settled_event_handle, chargeback_event_handle
from portal.lifecycle import status_transition
from portal.pci import card_numbers_mask

MAX_ATTEMPTS = 8
CLAIM_BATCH = 100
STALE_CLAIM = timedelta(minutes=10)
Status = WebhookEvent.Status


class EventNotFound(Exception):
    """PayTrace does not (yet) know what the event names; worth retrying a little later."""


def webhook_events_claim(*, limit: int = CLAIM_BATCH) -> list[int]:
    """Move up to `limit` due rows to processing; concurrent drains never claim the same row. A row left
    in processing by a worker that died is claimed again once its claim is stale."""
    now = timezone.now()
    due = Q(status__in=[Status.PENDING, Status.FAILED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=Status.PROCESSING, updated_at__lt=now - STALE_CLAIM)
    with transaction.atomic():
        ids = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(due | abandoned)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookEvent.objects.filter(pk__in=ids).update(status=Status.PROCESSING, updated_at=now)
    return ids


@dataclass(frozen=True)
class Context:
    connection: Connection
    client: PayTraceClient
    on_change: TransactionChanged


def _transaction_event_handle(event: WebhookEvent, context: Context) -> None:
    transaction_id = str(event.payload["data"]["transactionId"])
    raw = context.client.transaction_export_by_id(transaction_id=transaction_id)
    if raw is None:
        raise EventNotFound(f"PayTrace has no transaction {transaction_id}")
    result = paytrace_record_ingest(
        connection=context.connection, client=context.client, raw=raw, on_change=context.on_change
    )
    event.transaction = result.transaction


def _customer_event_handle(event: WebhookEvent, context: Context) -> None:
    customer_id = str(event.payload["data"]["customerId"])
    records = context.client.customer_export(customer_id=customer_id)
    if not records:
        raise EventNotFound(f"PayTrace has no vault customer {customer_id}")
    paytrace_customer_ingest(connection=context.connection, raw=records[0])


HANDLERS: dict[str, Callable[[WebhookEvent, Context], None]] = {
    "transaction.success": _transaction_event_handle,
    "transaction.declined": _transaction_event_handle,
    "transaction.refund": _transaction_event_handle,
    "transaction.void": _transaction_event_handle,
    "customer.updated": _customer_event_handle,
    "chargeback.created": chargeback_event_handle,
    "batch.settled": batch_settled_event_handle,
}


def _context(client: PayTraceClient | None) -> Context:
    from payments.services.pipeline import transaction_decide

    connection = connection_active_get(system=System.PAYTRACE)
    return Context(
        connection=connection,
        client=client or PayTraceClient.from_connection(connection),
        on_change=transaction_decide,
    )


def webhook_event_process(*, event_pk: int, client: PayTraceClient | None = None) -> WebhookEvent:
    event = WebhookEvent.objects.get(pk=event_pk)
    if event.status != Status.PROCESSING:
        status_transition(instance=event, to_status=Status.PROCESSING)
    attempt = event.attempt_count + 1
    try:
        handler = HANDLERS[event.event_type]
        context = _context(client)
        # No transaction around the handler: it calls PayTrace, and each upsert it makes is atomic and
        # idempotent on its own. Holding a write lock across HTTP would stall an SQLite deployment whose
        # PayTrace sandbox writes to the same file.
        handler(event, context)
        status_transition(
            instance=event,
            to_status=Status.PROCESSED,
            attempt_count=attempt,
            processed_at=timezone.now(),
            last_error="",
            next_attempt_at=None,
            transaction=event.transaction,
        )
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row, then retried or dead
        _event_failed(event=event, attempt=attempt, error=exc)
    return event


def _event_failed(*, event: WebhookEvent, attempt: int, error: Exception) -> None:
    message = card_numbers_mask(f"{type(error).__name__}: {error}")
    expected = isinstance(error, PayTraceError | EventNotFound | KeyError)
    if attempt >= MAX_ATTEMPTS:
        status_transition(
            instance=event,
            to_status=Status.DEAD,
            attempt_count=attempt,
            last_error=message,
            next_attempt_at=None,
        )
        alert_raise(title=f"Webhook event {event.event_id} is a dead letter", message=message, subject=event)
        return
    status_transition(
        instance=event,
        to_status=Status.FAILED,
        attempt_count=attempt,
        last_error=message,
        next_attempt_at=backoff_next_attempt_at(attempt=attempt),
    )
    if not expected:
        alert_raise(
            title=f"Unexpected error processing webhook {event.event_id}", message=message, subject=event
        )


def webhook_events_drain(*, time_budget_seconds: float = 60.0, client: PayTraceClient | None = None) -> int:
    """Process due events in claimed batches until none are due or the time budget is spent."""
    deadline = time.monotonic() + time_budget_seconds
    processed = 0
    while time.monotonic() < deadline:
        ids = webhook_events_claim()
        if not ids:
            break
        for pk in ids:
            webhook_event_process(event_pk=pk, client=client)
            processed += 1
    return processed
