"""POST /api/v1/transactions/<id>/refund/ against the PayTrace sandbox over real HTTP: once per request id."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from integrations.models import AuditEvent, Connection, ErpPosting
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from payments.models import RefundRequest, Transaction
from payments.services.api_tokens import api_token_create
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide
from payments.services.refunds import refund_request_hash
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def settled_sale(demo_world):
    paytrace = demo_world["connections"]["paytrace"]
    client = PayTraceClient.from_connection(paytrace)
    result = client.sale(
        amount=Decimal("120.00"),
        source=VaultCustomer(customer_id="C1002"),
        details=Details(invoice_id="INV-5003"),
    )
    client.settle()
    raw = client.transaction_export_by_id(transaction_id=result.transaction_id)
    return paytrace_record_ingest(
        connection=paytrace, client=client, raw=raw, on_change=transaction_decide
    ).transaction


@pytest.fixture
def refunder(api):
    return api  # the Storefront group may refund


def url(transaction_id: str) -> str:
    return f"/api/v1/transactions/{transaction_id}/refund/"


def test_a_refund_is_made_once_per_request_id(refunder, settled_sale):
    body = {"request_id": "rf-1", "amount": "20.00", "reason": "damaged"}
    first = refunder.post(url(settled_sale.transaction_id), body, format="json")
    assert first.status_code == 201, first.json()
    refund_id = first.json()["transaction_id"]
    assert first.json()["type"] == "refund" and first.json()["amount"] == "20.00"
    again = refunder.post(url(settled_sale.transaction_id), body, format="json")
    assert (again.status_code, again.json()["transaction_id"]) == (200, refund_id)
    assert Transaction.objects.filter(original=settled_sale, transaction_type="refund").count() == 1
    assert AuditEvent.objects.filter(action="transaction.refund", data__request_id="rf-1").count() == 1
    assert ErpPosting.objects.filter(
        transaction__transaction_id=refund_id, document_type="credit_memo"
    ).exists()


def test_more_than_remains_is_a_409_and_bad_input_a_400(refunder, settled_sale):
    too_much = refunder.post(
        url(settled_sale.transaction_id),
        {"request_id": "rf-2", "amount": "500.00", "reason": "x"},
        format="json",
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "refund_refused"
    missing = refunder.post(url(settled_sale.transaction_id), {"amount": "-1"}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) >= {"request_id", "amount", "reason"}


def test_unknown_transaction_is_a_404(refunder, settled_sale):
    assert refunder.post(url("999999"), {"request_id": "a", "reason": "x"}, format="json").status_code == 404


def test_a_token_without_the_permission_is_refused(settled_sale):
    """A token made by hand for a reader (orders and transactions, no refunds)."""
    user = UserFactory(username="reader", is_staff=False)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=("add_order", "view_order", "view_transaction"))
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(actor=None, user=user).key}")
    response = api.post(url(settled_sale.transaction_id), {"request_id": "a", "reason": "x"}, format="json")
    assert response.status_code == 403
    assert not Transaction.objects.filter(transaction_type="refund").exists()


def test_a_request_id_used_for_another_refund_is_a_409_conflict(refunder, settled_sale):
    first = {"request_id": "rf-3", "amount": "10.00", "reason": "damaged"}
    assert refunder.post(url(settled_sale.transaction_id), first, format="json").status_code == 201
    other = refunder.post(url(settled_sale.transaction_id), {**first, "amount": "11.00"}, format="json")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert Transaction.objects.filter(original=settled_sale, transaction_type="refund").count() == 1


def test_a_request_in_flight_elsewhere_is_not_made_twice(refunder, settled_sale):
    """What two web processes racing on one request id see: the row is the lock, not a per-process cache."""
    RefundRequest.objects.create(
        connection=settled_sale.connection,
        request_id="rf-4",
        sale=settled_sale,
        request_hash=refund_request_hash(sale=settled_sale, amount=Decimal("5.00"), reason="late"),
    )
    body = {"request_id": "rf-4", "amount": "5.00", "reason": "late"}
    response = refunder.post(url(settled_sale.transaction_id), body, format="json")
    assert response.status_code == 409
    assert "already being processed" in response.json()["error"]["message"]
    assert not Transaction.objects.filter(original=settled_sale, transaction_type="refund").exists()


def test_a_refused_request_can_be_sent_again_once_fixed(refunder, settled_sale):
    too_much = {"request_id": "rf-5", "amount": "500.00", "reason": "x"}
    assert refunder.post(url(settled_sale.transaction_id), too_much, format="json").status_code == 409
    assert not RefundRequest.objects.filter(request_id="rf-5").exists()
    fixed = refunder.post(url(settled_sale.transaction_id), {**too_much, "amount": "5.00"}, format="json")
    assert fixed.status_code == 201


def test_a_sale_of_an_inactive_or_other_environment_connection_is_a_404(refunder, settled_sale):
    Connection.objects.filter(pk=settled_sale.connection_id).update(environment="prod")
    body = {"request_id": "rf-6", "reason": "x"}
    assert refunder.post(url(settled_sale.transaction_id), body, format="json").status_code == 404
    Connection.objects.filter(pk=settled_sale.connection_id).update(environment="dev", is_active=False)
    assert refunder.post(url(settled_sale.transaction_id), body, format="json").status_code == 404
