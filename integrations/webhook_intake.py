"""The signed webhook intake: verify, validate, store. Nothing is processed inside the request.

`PayTrace-Signature: t=<unix seconds>,v1=<hex>` with v1 = HMAC-SHA256(secret, "<t>.<raw body>"),
300 s tolerance. The inbox row is the queue: one INSERT ... ON CONFLICT DO NOTHING per event. What it stores
is redacted first (`webhook_event_redact`): never the body as received, only its SHA-256."""

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from integrations.models import System, WebhookEvent
from integrations.paytrace.events import EVENT_TYPES
from portal.json_input import JsonInputError, json_input_parse
from portal.lifecycle import status_transition
from portal.pci import json_payload_redact, redact
from portal.queue import task_wake

SIGNATURE_HEADER = "PayTrace-Signature"
# Only these header values are worth keeping as evidence; cookies and auth never are.
KEPT_HEADERS = ("User-Agent", "Content-Type", "X-Forwarded-For", "X-Request-Id", SIGNATURE_HEADER)


class SignatureError(Exception):
    pass


class PayloadError(Exception):
    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.message, self.field = message, field


def webhook_signature_header(*, body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class SignatureHeader:
    timestamp: int
    digest: str


_TIMESTAMP = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() would also take "١٢" or 400 nines
_DIGEST = re.compile(r"[0-9a-f]{64}")


def webhook_signature_parse(header: str) -> SignatureHeader:
    """`t=<unix seconds>,v1=<64 lower-case hex>`, each part once, nothing else. Every other shape is
    refused before any arithmetic or comparison: a 400-digit `t` overflowed the float subtraction and
    a non-ASCII `v1` made `hmac.compare_digest` raise, both answered 500 instead of 401."""
    if not header.isascii():
        raise SignatureError("malformed signature header: not ASCII")
    parts: dict[str, str] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key in parts:
            raise SignatureError("malformed signature header: a part appears twice")
        parts[key] = value
    timestamp, digest = parts.get("t", ""), parts.get("v1", "")
    if set(parts) != {"t", "v1"} or not (_TIMESTAMP.fullmatch(timestamp) and _DIGEST.fullmatch(digest)):
        raise SignatureError("missing or malformed signature header")
    return SignatureHeader(timestamp=int(timestamp), digest=digest)


def webhook_signature_verify(
    *, header: str, body: bytes, secret: str, tolerance: int, now: float | None = None
) -> None:
    signature = webhook_signature_parse(header)
    if abs((now or time.time()) - signature.timestamp) > tolerance:
        raise SignatureError("signature timestamp outside the tolerance")
    expected = webhook_signature_header(body=body, secret=secret, timestamp=signature.timestamp)
    if not hmac.compare_digest(expected.split("v1=", 1)[1], signature.digest):
        raise SignatureError("signature does not match")


def webhook_payload_parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json_input_parse(raw=body, parse_float=Decimal)
    except JsonInputError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    event_id, event_type, data = payload.get("id"), payload.get("type"), payload.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 100:
        raise PayloadError("id must be a string of 1 to 100 characters", field="id")
    if event_type not in EVENT_TYPES:
        raise PayloadError(f"type must be one of {', '.join(sorted(EVENT_TYPES))}", field="type")
    if not isinstance(data, dict):
        raise PayloadError("data must be an object", field="data")
    declared = EVENT_TYPES[event_type]
    subject = str(data.get(declared.subject_field) or "") if declared.subject_field else None
    if subject is not None and not (subject.isdigit() if declared.subject_numeric else subject):
        field = f"data.{declared.subject_field}"
        raise PayloadError(f"{field} must name a PayTrace {declared.name.split('.')[0]}", field=field)
    return payload


@dataclass(frozen=True)
class Receipt:
    """What the endpoint answers: `accepted` (202, will be processed) or a repeat of a processed event."""

    event_pk: int
    accepted: bool


def _json_param(value: Any) -> Any:
    return WebhookEvent._meta.get_field("payload").get_db_prep_value(value, connection)


@functools.cache
def _insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = (
        "source", "event_id", "event_type", "status", "payload", "body_sha256", "headers", "remote_addr",
        "delivery_count", "attempt_count", "last_error", "created_at", "updated_at",
    )  # fmt: skip
    # Only quoted identifiers from our own model are interpolated; every value is a parameter.
    table, names, values = (
        quote(WebhookEvent._meta.db_table),
        ", ".join(map(quote, columns)),
        ", ".join(["%s"] * len(columns)),
    )
    conflict = f"ON CONFLICT ({quote('source')}, {quote('event_id')}) DO NOTHING RETURNING {quote('id')}"
    return f"INSERT INTO {table} ({names}) VALUES ({values}) {conflict}"  # noqa: S608


@dataclass(frozen=True)
class StoredEvent:
    """What the inbox keeps of a delivery."""

    event_id: str
    payload: dict[str, Any]
    body_sha256: str
    headers: dict[str, str]


def webhook_event_redact(*, payload: dict[str, Any], body: bytes, headers: Mapping[str, str]) -> StoredEvent:
    """Card-number-shaped values masked and card and bank secrets (csc, account and routing numbers...)
    replaced, in the payload, its id and the kept headers. Processing needs none of them: the event is a
    hint, and the transaction is read again from PayTrace by its id."""
    stored = json_payload_redact(payload=payload, body=body)
    return StoredEvent(
        event_id=stored["id"],
        payload=stored,
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers=redact({name: headers[name] for name in KEPT_HEADERS if name in headers}),
    )


def webhook_event_receive(
    *, payload: dict[str, Any], body: bytes, headers: Mapping[str, str], remote_addr: str | None
) -> Receipt:
    now = timezone.now()
    event = webhook_event_redact(payload=payload, body=body, headers=headers)
    params = [
        System.PAYTRACE, event.event_id, payload["type"], WebhookEvent.Status.PENDING,
        _json_param(event.payload), event.body_sha256, _json_param(event.headers), remote_addr,
        1, 0, "", now, now,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), params)
        row = cursor.fetchone()
    if row is not None:
        inbox_drain_wake()
        return Receipt(event_pk=row[0], accepted=True)
    return _redelivery(event_id=event.event_id)


def _redelivery(*, event_id: str) -> Receipt:
    event = WebhookEvent.objects.get(source=System.PAYTRACE, event_id=event_id)
    WebhookEvent.objects.filter(pk=event.pk).update(delivery_count=F("delivery_count") + 1)
    if event.status == WebhookEvent.Status.PROCESSED:
        return Receipt(event_pk=event.pk, accepted=False)
    if event.status in (WebhookEvent.Status.FAILED, WebhookEvent.Status.DEAD):
        # The sender tries again: so do we, at once.
        status_transition(instance=event, to_status=WebhookEvent.Status.PENDING, next_attempt_at=None)
        inbox_drain_wake()
    return Receipt(event_pk=event.pk, accepted=True)


def inbox_drain_wake() -> None:
    """Ask for a drain soon: one asked for and not yet started covers every event until it starts, from
    whichever process (`portal.queue.task_wake`)."""
    task_wake("integrations.tasks.webhook_events_drain")


@dataclass(frozen=True)
class IntakeAnswer:
    status: int
    body: dict[str, Any]


def intake_error(status: int, code: str, message: str, **extra: Any) -> IntakeAnswer:
    return IntakeAnswer(status=status, body={"error": {"code": code, "message": message, **extra}})


# Above DATA_UPLOAD_MAX_MEMORY_SIZE: answered alike by the view and the WSGI fast path.
BODY_TOO_LARGE = intake_error(413, "too_large", "body too large")


def webhook_receipt_answer(*, payload: dict[str, Any], receipt: Receipt) -> IntakeAnswer:
    if receipt.accepted:
        return IntakeAnswer(status=202, body={"id": payload["id"], "status": "accepted"})
    return IntakeAnswer(status=200, body={"id": payload["id"], "status": "already_processed"})


def webhook_signature_refused(error: SignatureError) -> IntakeAnswer:
    return intake_error(401, "invalid_signature", str(error))


def webhook_payload_refused(error: PayloadError) -> IntakeAnswer:
    return intake_error(
        400, "invalid_payload", error.message, **({"field": error.field} if error.field else {})
    )


def webhook_signature_check(*, body: bytes, headers: Mapping[str, str]) -> None:
    webhook_signature_verify(
        header=headers.get(SIGNATURE_HEADER, ""),
        body=body,
        secret=settings.PAYTRACE_WEBHOOK_SECRET,
        tolerance=settings.PAYTRACE_WEBHOOK_TOLERANCE_SECONDS,
    )


def webhook_intake(*, body: bytes, headers: Mapping[str, str], remote_addr: str | None) -> IntakeAnswer:
    """The whole endpoint in one call, for the WSGI fast path: verify, validate, store, answer. The DRF
    view runs the same steps as its authentication, its parser and its handler. `headers` must be
    case-insensitive."""
    try:
        webhook_signature_check(body=body, headers=headers)
    except SignatureError as exc:
        return webhook_signature_refused(exc)
    try:
        payload = webhook_payload_parse(body)
    except PayloadError as exc:
        return webhook_payload_refused(exc)
    receipt = webhook_event_receive(payload=payload, body=body, headers=headers, remote_addr=remote_addr)
    return webhook_receipt_answer(payload=payload, receipt=receipt)
