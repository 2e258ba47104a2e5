"""Processing the webhook inbox: claim pending rows in batches, re-read from PayTrace, upsert.

An event is only a hint: the transaction (or vault customer) is re-read from PayTrace by id before
anything is decided. A failure is recorded on the row and retried with backoff; after MAX_ATTEMPTS the
row is a dead letter with an alert. Processed rows are never processed again."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from integrations.alerts import alert_raise
from integrations.claims import Budget, ClaimQueue, rows_claim, rows_drain
from integrations.models import Connection, System, WebhookEvent
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceError
from integrations.paytrace.events import EVENT_TYPES
from integrations.retry import backoff_next_attempt_at
from integrations.selectors import connection_active_get
from portal.lifecycle import status_transition
from portal.pci import card_numbers_mask

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_BATCH = 100
Status = WebhookEvent.Status


class EventNotFound(Exception):
    """PayTrace does not (yet) know what the event names; worth retrying a little later."""


def _due(now: datetime) -> Q:
    return Q(status__in=[Status.PENDING, Status.FAILED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


INBOX = ClaimQueue(
    model=WebhookEvent,
    due=_due,
    claimed_status=Status.PROCESSING,
    released_status=Status.PENDING,
    claimed_at_field="updated_at",
    order_by=("created_at", "pk"),
)


def webhook_events_claim(*, limit: int = CLAIM_BATCH, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due rows; a row left in processing by a worker that died is claimed again once
    its lease has run out."""
    return rows_claim(queue=INBOX, limit=limit, now=now)


def webhook_events_due() -> bool:
    return WebhookEvent.objects.filter(_due(timezone.now())).exists()


@dataclass(frozen=True)
class Context:
    connection: Connection
    client: PayTraceClient


# (event, context) -> None; it may set `event.transaction` to the row the event is about.
EventHandler = Callable[[WebhookEvent, Context], None]
_HANDLERS: dict[str, EventHandler] = {}
# (events, context) -> the failures by event pk; it sets `event.transaction` on the others, which it
# processed. Raising means nothing of the batch was kept: its events are then processed one by one.
BatchHandler = Callable[[list[WebhookEvent], Context], dict[int, Exception]]
_BATCH_HANDLERS: dict[str, BatchHandler] = {}


def inbox_handler_register(*, event_type: str, handler: EventHandler) -> None:
    """Called from the owning app's `ready()`: one handler per declared PayTrace event type."""
    if event_type not in EVENT_TYPES:
        raise ImproperlyConfigured(f"{event_type!r} is not a declared PayTrace event type")
    registered = _HANDLERS.setdefault(event_type, handler)
    if registered is not handler:
        raise ImproperlyConfigured(f"{event_type} is already handled by {registered.__qualname__}")


def inbox_batch_handler_register(*, event_type: str, handler: BatchHandler) -> None:
    """Optional, beside the one-event handler: the drain gives a claimed batch's events of this type to
    `handler` together, so it can read and write them set-based."""
    if event_type not in EVENT_TYPES:
        raise ImproperlyConfigured(f"{event_type!r} is not a declared PayTrace event type")
    registered = _BATCH_HANDLERS.setdefault(event_type, handler)
    if registered is not handler:
        raise ImproperlyConfigured(f"{event_type} is already batched by {registered.__qualname__}")


def event_types_unhandled() -> list[str]:
    return [name for name in EVENT_TYPES if name not in _HANDLERS]


def _context(client: PayTraceClient | None) -> Context:
    connection = connection_active_get(system=System.PAYTRACE)
    return Context(connection=connection, client=client or PayTraceClient.from_connection(connection))


def webhook_event_process(*, event_pk: int, client: PayTraceClient | None = None) -> WebhookEvent:
    event = WebhookEvent.objects.get(pk=event_pk)
    if event.status != Status.PROCESSING:
        status_transition(instance=event, to_status=Status.PROCESSING)
    attempt = event.attempt_count + 1
    try:
        handler = _HANDLERS[event.event_type]
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


def webhook_events_process(
    *, ids: list[int], budget: Budget, client: PayTraceClient | None = None
) -> list[int]:
    """Process claimed events: those of a batched type together, one batch per handler (the connection
    looked up and the statuses written once per batch), the others one by one. The budget is checked
    before each batch and each single event; returns the ids not started."""
    events = WebhookEvent.objects.filter(pk__in=ids).order_by(*INBOX.order_by)
    batches: dict[BatchHandler, list[WebhookEvent]] = {}
    singles: list[int] = []
    for event in events:
        handler = _BATCH_HANDLERS.get(event.event_type)
        if handler is None:
            singles.append(event.pk)
        else:
            batches.setdefault(handler, []).append(event)
    left: list[int] = []
    for handler, batch in batches.items():
        if budget.spent():
            left.extend(event.pk for event in batch)
        else:
            _batch_process(handler=handler, events=batch, client=client)
    for index, pk in enumerate(singles):
        if budget.spent():
            return left + singles[index:]
        webhook_event_process(event_pk=pk, client=client)
    return left


def _batch_process(
    *, handler: BatchHandler, events: list[WebhookEvent], client: PayTraceClient | None
) -> None:
    try:
        failures = handler(events, _context(client))
    except Exception:  # noqa: BLE001 - the batch kept nothing: each event, on its own, records its failure
        logger.exception("a batch of %d webhook events failed; processing them one by one", len(events))
        for event in events:
            webhook_event_process(event_pk=event.pk, client=client)
        return
    _events_processed(events=[event for event in events if event.pk not in failures])
    for event in events:
        if event.pk in failures:
            _event_failed(event=event, attempt=event.attempt_count + 1, error=failures[event.pk])


def _events_processed(*, events: list[WebhookEvent]) -> None:
    """One statement for the whole batch; an event someone moved off "processing" meanwhile is left alone,
    as `status_transition` would leave it."""
    if not events:
        return
    now = timezone.now()
    for event in events:
        event.status, event.attempt_count = Status.PROCESSED, event.attempt_count + 1
        event.processed_at, event.updated_at, event.last_error, event.next_attempt_at = now, now, "", None
    # Only the transaction differs from event to event: one CASE for it, the rest plain values (a
    # bulk_update wrote a CASE of every event for each of seven fields, a good part of a batch's time).
    linked = [event for event in events if event.transaction_id is not None]
    transaction = (
        Case(
            *[When(pk=event.pk, then=Value(event.transaction_id)) for event in linked],
            default=None,
            output_field=BigIntegerField(),
        )
        if linked
        else None
    )
    WebhookEvent.objects.filter(pk__in=[event.pk for event in events], status=Status.PROCESSING).update(
        status=Status.PROCESSED,
        attempt_count=F("attempt_count") + 1,
        processed_at=now,
        updated_at=now,
        last_error="",
        next_attempt_at=None,
        transaction_id=transaction,
    )


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

    def process(ids: list[int], budget: Budget) -> list[int]:
        return webhook_events_process(ids=ids, budget=budget, client=client)

    return rows_drain(
        queue=INBOX,
        claim=lambda now: webhook_events_claim(now=now),
        process=process,
        time_budget_seconds=time_budget_seconds,
    )
