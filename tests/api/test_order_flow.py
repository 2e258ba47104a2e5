"""An order from the storefront to a posted receipt, for each ERP over its sandbox and real HTTP."""

import pytest

from integrations.models import Connection, ErpPosting
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.sage.registry import connector_for
from payments.models import Order
from payments.services.invoice_arrivals import erp_invoices_sync_and_follow
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide
from tests.api.conftest import order_body
from tests.integrations.paytrace_helpers import sale
from tests.payments.erp_invoicing import erp_invoice_raise

pytestmark = pytest.mark.django_db(transaction=True)
NEW_CUSTOMER = {
    "email": "  Orders@NordicTrail.example ",
    "name": "Nordic Trail Outfitters",
    "phone": "206-555-0199",
    "billing_address": {"line1": "1 Fjord Way", "city": "Seattle", "state": "WA", "postal_code": "98109"},
}


@pytest.fixture(params=["sage_300", "sage_x3", "sage_pro"])
def erp(request, demo_world) -> Connection:
    return demo_world["connections"][request.param]


def statuses(api, order_id: str) -> list[str]:
    return [event["status"] for event in api.get(f"/api/v1/orders/{order_id}/").json()["history"]]


def test_order_is_created_in_the_erp_and_followed_to_posted(erp, api):
    paytrace = Connection.objects.get(system="paytrace")
    order_id = f"WEB-{erp.system.upper()}-1"
    body = order_body(order_id, erp=erp.system, customer=NEW_CUSTOMER)
    # The storefront charged the card first, with the order id as PayTrace's invoice id; Sage 300 orders
    # also name the transaction, the others are found by that invoice id when the payment syncs.
    transaction_id = sale(PayTraceClient.from_connection(paytrace), amount="562.99", invoice_id=order_id)
    if erp.system == "sage_300":
        body["paytrace_transaction_id"] = transaction_id

    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "received"

    postings_post_due(time_budget_seconds=30)
    order = Order.objects.get(order_id=order_id)
    assert order.status == "order_created", (order.status_reason, list(ErpPosting.objects.values()))
    customer_posting = ErpPosting.objects.get(document_type="customer", connection=erp)
    assert customer_posting.status == "posted"
    assert order.customer.links.get(connection=erp).external_id == customer_posting.erp_document_number
    found = connector_for(erp).document_find(document_type="sales_order", reference=order_id)
    assert found is not None and found.number == order.erp_order_number

    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)
    postings_post_due(time_budget_seconds=30)
    # Paid before the ERP invoiced the order: the payment waits as its prepayment (issue 11), and lands on
    # the invoice the ERP raises from the sales order once the invoice sync sees it.
    assert api.get(f"/api/v1/orders/{order_id}/").json()["status"] == "paid"
    number = customer_posting.erp_document_number
    erp_invoice_raise(erp, number="INV-9300", customer=number, amount="562.99", order_id=order_id)
    erp_invoices_sync_and_follow(connection=erp)
    postings_post_due(time_budget_seconds=30)

    answer = api.get(f"/api/v1/orders/{order_id}/").json()
    assert answer["status"] == "posted", answer
    assert statuses(api, order_id) == ["received", "customer_synced", "order_created", "paid", "posted"]
    assert answer["erp_order_number"] == order.erp_order_number
    assert answer["payment"]["transaction_id"] == transaction_id
    assert answer["payment"]["receipt_status"] == "posted"

    payment = api.get(f"/api/v1/transactions/{transaction_id}/").json()
    assert payment["order_id"] == order_id
    assert payment["held_for_review"] is False
    assert [(d["document_type"], d["status"]) for d in payment["erp_documents"]] == [("receipt", "posted")]
