"""The PayTrace webhook endpoint: verify, store, answer. Processing happens in the inbox drain."""

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.webhooks import (
    SIGNATURE_HEADER,
    PayloadError,
    SignatureError,
    webhook_event_receive,
    webhook_payload_parse,
    webhook_signature_verify,
)


def _error(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def paytrace_webhook(request: HttpRequest) -> JsonResponse:
    body = request.body
    try:
        webhook_signature_verify(
            header=request.headers.get(SIGNATURE_HEADER, ""),
            body=body,
            secret=settings.PAYTRACE_WEBHOOK_SECRET,
            tolerance=settings.PAYTRACE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except SignatureError as exc:
        return _error(401, "invalid_signature", str(exc))
    try:
        payload = webhook_payload_parse(body)
    except PayloadError as exc:
        return _error(400, "invalid_payload", exc.message, **({"field": exc.field} if exc.field else {}))
    receipt = webhook_event_receive(
        payload=payload, headers=dict(request.headers), remote_addr=request.META.get("REMOTE_ADDR")
    )
    if receipt.accepted:
        return JsonResponse({"id": payload["id"], "status": "accepted"}, status=202)
    return JsonResponse({"id": payload["id"], "status": "already_processed"}, status=200)
