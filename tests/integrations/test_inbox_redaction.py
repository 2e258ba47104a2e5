"""The inbox keeps a redacted payload and the SHA-256 of the body, never the body; its errors are masked."""

import hashlib
import importlib
import json

import pytest
from django.apps import apps
from django.utils import timezone

from integrations import inbox
from integrations.cursors import sync_cursor_claim, sync_cursor_release
from integrations.models import SyncCursor, WebhookEvent
from integrations.paytrace.errors import PayTraceError
from portal.pci import card_numbers_find
from tests.factories import ConnectionFactory, TransactionFactory, WebhookEventFactory
from tests.integrations.paytrace_helpers import event, webhook_deliver
from tests.pci_capture import writes_not_captured

pytestmark = pytest.mark.django_db


def deliver(client, payload: dict, **headers) -> tuple[int, bytes]:
    response, body = webhook_deliver(client, payload, **headers)
    return response.status_code, body


def test_a_signed_event_with_card_data_is_stored_redacted_with_the_sha256_of_its_body(client):
    payload = event(
        "evt_card",
        "transaction.success",
        "395970044",
        number="4012888888881881",
        csc="999",
        accountNumber="000123456789",
        routing_number="325081403",
        credit_card={"number": "4111 1111 1111 1111", "expiration_month": 12},
        card=5454545454545454,
        description="card 5454 5454 5454 5454 exp 12 30",
    )
    status, body = deliver(client, payload, HTTP_USER_AGENT="PayTrace 4111-1111-1111-1111")
    assert status == 202
    stored = WebhookEvent.objects.get(event_id="evt_card")
    assert stored.payload["data"] == {
        "transactionId": "395970044",
        "number": "[redacted]",
        "csc": "[redacted]",
        "accountNumber": "[redacted]",
        "routing_number": "[redacted]",
        "credit_card": {"number": "[redacted]", "expiration_month": 12},
        "card": "************5454",
        "description": "card ************5454 exp 12 30",
    }
    assert stored.body_sha256 == hashlib.sha256(body).hexdigest()
    assert stored.headers["User-Agent"] == "PayTrace ************1111"
    row = json.dumps([stored.payload, stored.headers, stored.event_id])
    assert card_numbers_find(row) == [] and "999" not in row and "000123456789" not in row


def test_an_ordinary_event_is_stored_as_sent(client):
    payload = event("evt_plain", "transaction.success", "395970044", amount="42.50", invoiceId="INV-5001")
    status, body = deliver(client, payload)
    assert status == 202
    stored = WebhookEvent.objects.get(event_id="evt_plain")
    assert stored.payload == payload
    assert stored.body_sha256 == hashlib.sha256(body).hexdigest()


def test_an_event_id_shaped_like_a_card_is_stored_masked_and_its_redelivery_still_recognised(client):
    payload = event("evt_4111111111111111", "transaction.success", "395970044")
    assert deliver(client, payload)[0] == 202
    assert deliver(client, payload)[0] == 202  # pending: accepted again, not stored twice
    stored = WebhookEvent.objects.get()
    assert (stored.event_id, stored.delivery_count) == ("evt_************1111", 2)


def test_the_database_refuses_a_digest_that_is_not_sha256_hex():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        WebhookEventFactory(body_sha256="not a digest")


def test_a_processing_error_carrying_a_card_number_is_stored_masked():
    ConnectionFactory(system="paytrace")
    stored = WebhookEventFactory(event_type="transaction.success", payload={"data": {"transactionId": "1"}})

    class Failing:
        def transaction_export_by_id(self, *, transaction_id):
            raise PayTraceError("PayTrace says card 4111 1111 1111 1111 is not allowed")

    inbox.webhook_event_process(event_pk=stored.pk, client=Failing())
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.last_error == "PayTraceError: PayTrace says card ************1111 is not allowed"


def test_a_sync_error_carrying_a_card_number_is_stored_masked():
    cursor = sync_cursor_claim(connection=ConnectionFactory(), resource="transactions", now=timezone.now())
    sync_cursor_release(cursor=cursor, position=None, seen=0, error="ValueError: bad 4111111111111111")
    assert SyncCursor.objects.get().last_error == "ValueError: bad ************1111"


def test_rows_stored_before_masking_are_masked_by_the_migration():
    migration = importlib.import_module("integrations.migrations.0007_stored_card_numbers_masked")
    with writes_not_captured():
        event = WebhookEventFactory(
            payload={"data": {"transactionId": "1", "csc": "999", "note": "4111 1111 1111 1111"}},
            headers={"User-Agent": "4111111111111111"},
            last_error="KeyError: 5454545454545454",
        )
        sale = TransactionFactory(
            description="card 5454 5454 5454 5454 exp 12 30",
            raw={"credit_card": {"number": "4111111111111111"}},
        )
    untouched = WebhookEventFactory(payload={"data": {"transactionId": "2"}})
    before = untouched.updated_at
    migration.stored_card_numbers_mask(apps, None)
    event.refresh_from_db()
    sale.refresh_from_db()
    untouched.refresh_from_db()
    assert event.payload == {"data": {"transactionId": "1", "csc": "[redacted]", "note": "************1111"}}
    assert (event.headers, event.last_error) == (
        {"User-Agent": "************1111"},
        "KeyError: ************5454",
    )
    assert (sale.description, sale.raw) == (
        "card ************5454 exp 12 30",
        {"credit_card": {"number": "[redacted]"}},
    )
    assert untouched.updated_at == before
