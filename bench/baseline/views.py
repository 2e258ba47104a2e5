"""The baseline view: the same signature scheme as the portal's endpoint, then one INSERT of the raw body.

It deliberately does not import the portal (that would load its apps): the check is written out here."""

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

TABLE = "bench_baseline_event"
TABLE_DDL = (
    f"CREATE TABLE {TABLE} "
    "(id bigserial PRIMARY KEY, event_id varchar(100) NOT NULL UNIQUE, body text NOT NULL)"
)
TOLERANCE_SECONDS = 300


def _signature_valid(*, header: str, body: bytes) -> bool:
    fields = dict(item.strip().partition("=")[::2] for item in header.split(","))
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        return False
    secret = settings.PAYTRACE_WEBHOOK_SECRET.encode()
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


def webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = request.body
    if not _signature_valid(header=request.headers.get("PayTrace-Signature", ""), body=body):
        return JsonResponse({"error": "invalid_signature"}, status=401)
    try:
        event_id = json.loads(body)["id"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "invalid_payload"}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (event_id, body) VALUES (%s, %s) ON CONFLICT (event_id) DO NOTHING",
            [event_id, body.decode()],
        )
    return JsonResponse({"id": event_id, "status": "accepted"}, status=202)
