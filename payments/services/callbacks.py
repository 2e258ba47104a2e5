"""Status changes written back to the storefront: each order event of an order with a callback URL becomes
one CallbackDelivery (an outbox row), POSTed as JSON signed like the PayTrace webhook we take
(`PayTrace-Signature: t=<unix seconds>,v1=HMAC-SHA256(PAYTRACE_WEBHOOK_SECRET, "<t>.<body>")`), so a
storefront plugin checks it with the code that signs its hints to us. Workers claim due rows with SKIP
LOCKED; a 2xx delivers, anything else is retried with backoff, and after `MAX_ATTEMPTS` the row is a dead
letter, alerted and audited. A row is delivered at most once by us; the event id in the body lets the
storefront drop a repeat it may still see after a lost answer."""

import json
import logging
import time

import requests
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.alerts import alert_raise
from integrations.audit import audit_record
from integrations.callback_urls import CallbackUrlRefused, callback_url_check
from integrations.claims import ClaimQueue, rows_claim, rows_drain
from integrations.retry import backoff_next_attempt_at
from integrations.webhook_intake import SIGNATURE_HEADER, webhook_signature_header
from payments.models import CallbackDelivery, OrderEvent

logger = logging.getLogger(__name__)
Status = CallbackDelivery.Status
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 5
CLAIM_BATCH = 50

QUEUE = ClaimQueue(
    model=CallbackDelivery,
    due=lambda now: Q(status=Status.PENDING) | Q(status=Status.RETRYABLE, next_attempt_at__lte=now),
    claimed_status=Status.SENDING,
    released_status=Status.PENDING,
    claimed_at_field="claimed_at",
    order_by=("pk",),
)


def callback_payload(*, event: OrderEvent) -> dict:
    order = event.order
    return {
        "id": f"order-event-{event.pk}",
        "type": "order.status_changed",
        "created": int(event.created_at.timestamp()),
        "data": {
            "order_id": order.order_id,
            "status": event.status,
            "reason": event.reason,
            "erp_order_number": order.erp_order_number,
            "paytrace_transaction_id": order.paytrace_transaction_id,
        },
    }


def callback_enqueue(*, event: OrderEvent) -> CallbackDelivery | None:
    """The event's delivery, once: an order without a callback URL has none."""
    order = event.order
    if not order.callback_url:
        return None
    delivery, _ = CallbackDelivery.objects.get_or_create(
        event=event,
        defaults={"order": order, "url": order.callback_url, "payload": callback_payload(event=event)},
    )
    return delivery


def order_event_saved(*, instance: OrderEvent, created: bool, **_: object) -> None:
    """post_save of OrderEvent (wired in the app's `ready()`): every path that tells an order's status
    tells its storefront, in the same database transaction as the event."""
    if created:
        callback_enqueue(event=instance)


def _attempt(delivery: CallbackDelivery) -> str:
    """ "" when delivered, else why not."""
    try:
        callback_url_check(delivery.url, production=settings.PRODUCTION_LIKE)
    except CallbackUrlRefused as exc:
        return f"URL refused: {exc}"
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    header = webhook_signature_header(
        body=body, secret=settings.PAYTRACE_WEBHOOK_SECRET, timestamp=int(time.time())
    )
    try:
        response = requests.post(
            delivery.url,
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,  # a redirect could point anywhere the URL check refused
        )
    except requests.Timeout:
        return "timed out"
    except requests.RequestException as exc:
        return f"unreachable ({type(exc).__name__})"
    if 200 <= response.status_code < 300:
        return ""
    return f"HTTP {response.status_code}"  # never the storefront's body: it is not ours to keep


def callback_deliver(*, delivery: CallbackDelivery) -> CallbackDelivery:
    problem = _attempt(delivery)
    delivery.attempt_count += 1
    now = timezone.now()
    if not problem:
        delivery.status, delivery.delivered_at, delivery.last_error = Status.DELIVERED, now, ""
        delivery.next_attempt_at = None
    elif delivery.attempt_count >= MAX_ATTEMPTS or problem.startswith("URL refused"):
        delivery.status, delivery.last_error, delivery.next_attempt_at = Status.DEAD, problem, None
    else:
        delivery.status, delivery.last_error = Status.RETRYABLE, problem
        delivery.next_attempt_at = backoff_next_attempt_at(attempt=delivery.attempt_count, now=now)
    delivery.save(
        update_fields=[
            "status",
            "attempt_count",
            "delivered_at",
            "last_error",
            "next_attempt_at",
            "updated_at",
        ]
    )
    _audit(delivery=delivery)
    return delivery


def _audit(*, delivery: CallbackDelivery) -> None:
    if delivery.status == Status.RETRYABLE:
        return  # each try is on the row; the trail keeps the outcomes
    data = {
        "order": delivery.order.order_id,
        "status": delivery.payload["data"]["status"],
        "attempts": delivery.attempt_count,
    }
    if delivery.status == Status.DELIVERED:
        audit_record(action="callback.delivered", subject=delivery.order, data=data)
        return
    audit_record(action="callback.dead", subject=delivery.order, reason=delivery.last_error, data=data)
    alert_raise(
        title=f"Status of order {delivery.order.order_id} not delivered to its storefront",
        message=f"{delivery.last_error} after {delivery.attempt_count} attempt(s).",
        subject=delivery.order,
    )


def callbacks_deliver_due(*, time_budget_seconds: float = 50.0) -> int:
    def process(ids: list[int], budget) -> list[int]:
        for index, pk in enumerate(ids):
            if budget.spent():
                return ids[index:]
            delivery = CallbackDelivery.objects.select_related("order").get(pk=pk)
            if delivery.status == Status.SENDING:
                callback_deliver(delivery=delivery)
        return []

    return rows_drain(
        queue=QUEUE,
        claim=lambda now: rows_claim(queue=QUEUE, limit=CLAIM_BATCH, now=now),
        process=process,
        time_budget_seconds=time_budget_seconds,
    )
