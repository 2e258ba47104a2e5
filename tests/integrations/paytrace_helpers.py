"""Small helpers for tests that drive the PayTrace sandbox through our client."""

import json
import time
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceDeclined
from integrations.paytrace.types import BillingAddress, Card, Details
from integrations.webhook_intake import webhook_signature_header

TEST_VISA = Card(number="4012000098765439", expiration_month=12, expiration_year=2030, csc="999")


def sale(client: PayTraceClient, amount: str = "25.00", **details) -> str:
    """A keyed sale with the test Visa; a decline still has a transaction id, which is returned."""
    try:
        result = client.sale(
            amount=Decimal(amount),
            source=TEST_VISA,
            billing_address=BillingAddress(name="Acme Outdoor Supply", zip="98101", country="US"),
            details=Details(**details) if details else None,
        )
    except PayTraceDeclined as declined:
        result = declined.result
    return result.transaction_id


def signed(payload: dict, *, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, str]:
    return signed_raw(json.dumps(payload).encode(), timestamp=timestamp, secret=secret)


def signed_raw(body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, str]:
    """Any bytes, signed as PayTrace would: for bodies `json.dumps` cannot produce."""
    header = webhook_signature_header(
        body=body, secret=secret or settings.PAYTRACE_WEBHOOK_SECRET, timestamp=timestamp or int(time.time())
    )
    return body, header


def webhook_deliver(client, payload: dict, **headers):
    """Sign `payload` and post it to the webhook endpoint through Django's test client: (response, body)."""
    body, header = signed(payload)
    headers["HTTP_PAYTRACE_SIGNATURE"] = header
    response = client.post(reverse("paytrace-webhook"), data=body, content_type="application/json", **headers)
    return response, body


def event(event_id: str, event_type: str, transaction_id: str, **data) -> dict:
    return {
        "id": event_id,
        "type": event_type,
        "created": "2026-11-22T10:00:00Z",
        "data": {"transactionId": transaction_id, **data},
    }
