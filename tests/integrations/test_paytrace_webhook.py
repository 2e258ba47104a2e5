"""The signed webhook endpoint and the inbox drain, against the PayTrace sandbox over real HTTP."""

import json
import threading
import time
from decimal import Decimal

import pytest
import requests
from django.urls import reverse

from integrations import inbox
from integrations.models import Alert, WebhookEvent
from payments.models import Transaction
from tests.integrations.paytrace_helpers import event, sale, signed, signed_raw

pytestmark = pytest.mark.django_db(transaction=True)
Status = WebhookEvent.Status


def post(client, payload=None, *, body=None, header=None, timestamp=None):
    if body is None:
        body, header = signed(payload, timestamp=timestamp)
    return client.post(
        reverse("paytrace-webhook"),
        data=body,
        content_type="application/json",
        HTTP_PAYTRACE_SIGNATURE=header,
    )


def test_bad_signature_is_401_and_stores_nothing(client):
    body, _ = signed(event("evt_1", "transaction.success", "1"))
    response = post(client, body=body, header="t=1,v1=deadbeef")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_missing_signature_is_401(client):
    body, _ = signed(event("evt_1", "transaction.success", "1"))
    assert post(client, body=body, header="").status_code == 401


def test_stale_timestamp_is_401(client):
    response = post(client, event("evt_1", "transaction.success", "1"), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert "tolerance" in response.json()["error"]["message"]


def test_malformed_json_is_400_with_a_json_error(client):
    body = b"{not json"
    _, header = signed({})
    from integrations.webhook_intake import webhook_signature_header

    header = webhook_signature_header(
        body=body, secret="paysage-dev-webhook-secret", timestamp=int(time.time())
    )
    response = post(client, body=body, header=header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"id": "e", "type": "nope", "data": {}}, "type"),
        ({"id": "", "type": "transaction.success", "data": {"transactionId": "1"}}, "id"),
        ({"id": "e", "type": "transaction.success", "data": {}}, "data.transactionId"),
        ({"id": "e", "type": "transaction.success", "data": []}, "data"),
    ],
)
def test_invalid_payload_names_the_field(client, payload, field):
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_event_is_stored_then_processed_from_a_fresh_read(client, paytrace_connection, paytrace_client):
    transaction_id = sale(paytrace_client, "42.50", invoice_id="INV-5001")
    # The hint lies about the amount: the re-read from PayTrace is what counts.
    response = post(client, event("evt_sale", "transaction.success", transaction_id, amount="1.00"))
    assert response.status_code == 202
    stored = WebhookEvent.objects.get(event_id="evt_sale")
    assert stored.status == Status.PENDING
    assert not Transaction.objects.exists()  # nothing processed inside the request

    assert inbox.webhook_events_drain(time_budget_seconds=30) == 1
    stored.refresh_from_db()
    assert stored.status == Status.PROCESSED, stored.last_error
    txn = Transaction.objects.get(transaction_id=transaction_id)
    assert (txn.amount, txn.status, txn.last4, txn.invoice_reference) == (
        Decimal("42.50"),
        "approved",
        "5439",
        "INV-5001",
    )
    assert stored.transaction == txn


def test_repeat_of_a_processed_event_answers_200_and_changes_nothing(
    client, paytrace_connection, paytrace_client
):
    transaction_id = sale(paytrace_client)
    payload = event("evt_dup", "transaction.success", transaction_id)
    assert post(client, payload).status_code == 202
    inbox.webhook_events_drain(time_budget_seconds=30)
    before = Transaction.objects.get(transaction_id=transaction_id).updated_at

    response = post(client, payload)
    assert response.status_code == 200
    assert response.json()["status"] == "already_processed"
    assert inbox.webhook_events_drain(time_budget_seconds=5) == 0
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().delivery_count == 2
    assert Transaction.objects.get(transaction_id=transaction_id).updated_at == before


def test_two_identical_deliveries_at_the_same_moment_store_one_event(live_server, paytrace_connection):
    body, header = signed(event("evt_race", "transaction.success", "123"))
    url = live_server.url + reverse("paytrace-webhook")
    barrier = threading.Barrier(4)
    statuses = []

    def deliver():
        barrier.wait()
        response = requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", "PayTrace-Signature": header},
            timeout=10,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202, 202, 202, 202]
    assert WebhookEvent.objects.filter(event_id="evt_race").count() == 1
    assert WebhookEvent.objects.get(event_id="evt_race").delivery_count == 4


def test_void_arriving_before_its_sale_ends_voided(client, paytrace_connection, paytrace_client):
    transaction_id = sale(paytrace_client, "15.00")
    paytrace_client.void(transaction_id=transaction_id)
    post(client, event("evt_void", "transaction.void", transaction_id))
    inbox.webhook_events_drain(time_budget_seconds=30)
    assert Transaction.objects.get(transaction_id=transaction_id).status == "voided"

    post(client, event("evt_sale_late", "transaction.success", transaction_id))
    inbox.webhook_events_drain(time_budget_seconds=30)
    assert Transaction.objects.get(transaction_id=transaction_id).status == "voided"
    assert WebhookEvent.objects.filter(status=Status.PROCESSED).count() == 2


def test_refund_before_its_sale_fetches_and_links_the_sale(client, paytrace_connection, paytrace_client):
    sale_id = sale(paytrace_client, "80.00")
    paytrace_client.settle()
    refund_id = paytrace_client.refund_for_transaction(
        transaction_id=sale_id, amount=Decimal("30.00")
    ).transaction_id
    post(client, event("evt_refund", "transaction.refund", refund_id))
    inbox.webhook_events_drain(time_budget_seconds=30)

    refund = Transaction.objects.get(transaction_id=refund_id)
    assert refund.transaction_type == "refund"
    assert refund.original.transaction_id == sale_id
    original = Transaction.objects.get(transaction_id=sale_id)
    assert (original.status, original.amount_refunded) == ("partially_refunded", Decimal("30.00"))


def test_failed_event_is_retried_and_visible_then_a_redelivery_processes_it(client, paytrace_connection):
    post(client, event("evt_missing", "transaction.success", "999999"))
    inbox.webhook_events_drain(time_budget_seconds=30)
    failed = WebhookEvent.objects.get(event_id="evt_missing")
    assert failed.status == Status.FAILED
    assert failed.attempt_count == 1
    assert "999999" in failed.last_error
    assert failed.next_attempt_at is not None

    # A redelivery of a failed event is taken at once, and fails again on the same missing transaction.
    assert post(client, event("evt_missing", "transaction.success", "999999")).status_code == 202
    failed.refresh_from_db()
    assert failed.status == Status.PENDING
    inbox.webhook_events_drain(time_budget_seconds=30)
    failed.refresh_from_db()
    assert (failed.status, failed.attempt_count) == (Status.FAILED, 2)


def test_event_dead_after_max_attempts_raises_an_alert(client, paytrace_connection, monkeypatch):
    monkeypatch.setattr(inbox, "MAX_ATTEMPTS", 2)
    post(client, event("evt_dead", "transaction.success", "424242"))
    for _ in range(2):
        WebhookEvent.objects.filter(event_id="evt_dead").update(next_attempt_at=None)
        inbox.webhook_events_drain(time_budget_seconds=30)
    dead = WebhookEvent.objects.get(event_id="evt_dead")
    assert dead.status == Status.DEAD
    assert Alert.objects.filter(subject_type="webhookevent", subject_id=str(dead.pk)).exists()


def test_sandbox_outage_is_a_retryable_failure(client, paytrace_connection, paytrace_client):
    from simulators.models import FaultProfile

    transaction_id = sale(paytrace_client)
    post(client, event("evt_outage", "transaction.success", transaction_id))
    FaultProfile.objects.create(system="paytrace", error_next=5)
    inbox.webhook_events_drain(time_budget_seconds=30)
    stored = WebhookEvent.objects.get(event_id="evt_outage")
    assert stored.status == Status.FAILED
    FaultProfile.objects.all().delete()
    WebhookEvent.objects.filter(pk=stored.pk).update(next_attempt_at=None)
    inbox.webhook_events_drain(time_budget_seconds=30)
    stored.refresh_from_db()
    assert stored.status == Status.PROCESSED, stored.last_error


def _wsgi_post(body: bytes, header: str, *, method: str = "POST") -> tuple[str, dict]:
    import io

    from portal.wsgi import application

    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/webhooks/paytrace/",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PAYTRACE_SIGNATURE": header,
        "REMOTE_ADDR": "127.0.0.1",
    }
    chunks = application(environ, start_response)
    return answer["status"], json.loads(b"".join(chunks) or b"{}")


def test_gunicorn_entry_serves_the_same_intake_ahead_of_the_middleware():
    body, header = signed(event("evt_wsgi", "transaction.success", "77"))
    status, answer = _wsgi_post(body, header)
    assert (status, answer["status"]) == ("202 Accepted", "accepted")
    stored = WebhookEvent.objects.get(event_id="evt_wsgi")
    assert stored.headers["PayTrace-Signature"] == header  # evidence kept, under its documented name
    assert _wsgi_post(body, "t=1,v1=00")[0] == "401 Unauthorized"
    assert _wsgi_post(b"{", signed({})[1])[0] == "401 Unauthorized"
    status, _ = _wsgi_post(body, header, method="GET")
    assert status.startswith("405")  # anything but the POST goes through Django as before


# --- malformed input: the Django view and the WSGI fast path answer alike, 4xx with a JSON error --------

BOTH_PATHS = pytest.mark.parametrize("via", ["view", "wsgi"])


def _deliver(via: str, client, body: bytes, header: str) -> tuple[int, dict]:
    if via == "wsgi":
        status, answer = _wsgi_post(body, header)
        return int(status.split()[0]), answer
    response = post(client, body=body, header=header)
    return response.status_code, response.json()


def _malformed_headers(body: bytes) -> dict[str, str]:
    """Each shape next to a header that is right in every other respect (its digest matches)."""
    now = int(time.time())
    digest = signed_raw(body, timestamp=now)[1].split("v1=")[1]
    return {
        "400 nines": f"t={'9' * 400},v1={digest}",
        "negative t": f"t=-{now},v1={digest}",
        "no v1": f"t={now}",
        "no t": f"v1={digest}",
        "non-hex v1": f"t={now},v1={'z' * 64}",
        "short v1": f"t={now},v1={digest[:63]}",
        "upper-case v1": f"t={now},v1={digest.upper()}",
        "t twice": f"t={now},v1={digest},t={now}",
        "v1 twice": f"t={now},v1={digest},v1={digest}",
        "unknown part": f"t={now},v1={digest},v0=abc",
        "non-ASCII v1": f"t={now},v1={'é' * 64}",
        "non-ASCII digits in t": f"t={''.join(chr(0x0660 + int(c)) for c in str(now))},v1={digest}",
        "empty": "",
    }


@BOTH_PATHS
def test_every_malformed_signature_header_is_401_before_any_arithmetic(client, via):
    body = json.dumps(event("evt_shape", "transaction.success", "1")).encode()
    for shape, header in _malformed_headers(body).items():
        status, answer = _deliver(via, client, body, header)
        assert (status, answer["error"]["code"]) == (401, "invalid_signature"), shape
    assert not WebhookEvent.objects.exists()


UNPARSABLE_BODIES = {
    "100,000 levels deep": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
    "100,000 objects deep": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested deeper than 32 levels"),
    "100,000 unclosed levels": (b"[" * 100_000, "nested deeper than 32 levels"),
    "UTF-16": ('{"id": "evt_16"}'.encode("utf-16"), "UTF-16"),
    "Latin-1": ('{"id": "évt"}'.encode("latin-1"), "not UTF-8"),
    "NaN": (b'{"id": "e", "type": "batch.settled", "data": {"amount": NaN}}', "NaN"),
    "Infinity": (b'{"id": "e", "type": "batch.settled", "data": {"amount": -Infinity}}', "Infinity"),
    "NUL in a string": (b'{"id": "e\\u0000", "type": "batch.settled", "data": {}}', "NUL"),
    "lone surrogate": (b'{"id": "e", "type": "batch.settled", "data": {"x": "\\udc00"}}', "surrogate"),
    "5,000-digit number": (b'{"id": "e", "data": {"n": %s}}' % (b"9" * 5000), "digits"),
}


@BOTH_PATHS
@pytest.mark.parametrize("case", UNPARSABLE_BODIES)
def test_a_signed_body_json_cannot_take_is_400_and_the_worker_goes_on(client, via, case):
    body, header = signed_raw(UNPARSABLE_BODIES[case][0])
    status, answer = _deliver(via, client, body, header)
    assert (status, answer["error"]["code"]) == (400, "invalid_payload")
    assert UNPARSABLE_BODIES[case][1] in answer["error"]["message"]
    assert not WebhookEvent.objects.exists()
    # The same process takes the next event as usual.
    assert _deliver(via, client, *signed(event("evt_next", "transaction.success", "1")))[0] == 202


@BOTH_PATHS
def test_a_body_above_the_upload_limit_is_413_json(client, via, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    status, answer = _deliver(via, client, *signed_raw(b'{"id": "' + b"x" * 200 + b'"}'))
    assert (status, answer["error"]["code"]) == (413, "too_large")


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " 12"])
def test_fast_path_answers_a_malformed_content_length_400_json(length):
    import io

    from portal.wsgi import application

    answer = {}
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhooks/paytrace/",
        "wsgi.input": io.BytesIO(b"{}"),
        "CONTENT_LENGTH": length,
    }
    chunks = application(environ, lambda status, headers: answer.update(status=status))
    assert answer["status"] == "400 Bad Request"
    assert json.loads(b"".join(chunks))["error"]["code"] == "invalid_request"


def test_the_endpoint_is_a_drf_view_whose_authentication_is_the_signature_and_whose_parser_reads_the_event():
    from django.urls import resolve
    from rest_framework.views import APIView

    from integrations.webhook_api import PayTraceEventParser, PayTraceSignatureAuthentication

    view = resolve(reverse("paytrace-webhook")).func.view_class
    assert issubclass(view, APIView)
    assert view.authentication_classes == [PayTraceSignatureAuthentication]
    assert view.parser_classes == [PayTraceEventParser]
    assert view.permission_classes == [] and view.throttle_classes == []
