"""An API order's payment lands on the invoice the ERP raises from the order's sales order: held as a
prepayment against the order until the invoice sync sees that invoice, then applied and posted. For each
ERP over its sandbox and real HTTP."""

from decimal import Decimal

import pytest

from integrations.models import Connection, ErpPosting
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.sage.registry import connector_for
from payments.models import Invoice, Order, ReconciliationException
from payments.services.invoice_arrivals import erp_invoices_sync_and_follow
from payments.services.invoice_drift import invoices_reconcile
from payments.services.orders import ORDER_INVOICE_AWAITED
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide
from tests.api.conftest import order_body
from tests.integrations.paytrace_helpers import sale
from tests.payments.erp_invoicing import erp_invoice_raise

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture(params=["sage_300", "sage_x3", "sage_pro"])
def erp(request, demo_world) -> Connection:
    return demo_world["connections"][request.param]


def _ordered_and_paid(api, erp: Connection, order_id: str) -> str:
    paytrace = Connection.objects.get(system="paytrace")
    transaction_id = sale(PayTraceClient.from_connection(paytrace), amount="562.99", invoice_id=order_id)
    body = order_body(order_id, erp=erp.system, paytrace_transaction_id=transaction_id)
    assert api.post("/api/v1/orders/", body, format="json").status_code == 201
    postings_post_due(time_budget_seconds=30)
    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)
    postings_post_due(time_budget_seconds=30)
    return transaction_id


def test_the_payment_waits_as_a_prepayment_then_lands_on_the_orders_invoice(erp, api):
    order_id = f"WEB-{erp.system.upper()}-INV"
    transaction_id = _ordered_and_paid(api, erp, order_id)
    receipt = ErpPosting.objects.get(document_type="receipt", reference=transaction_id)
    assert (receipt.status, receipt.last_error_code) == ("held", ORDER_INVOICE_AWAITED)
    answer = api.get(f"/api/v1/orders/{order_id}/").json()
    assert answer["status"] == "paid" and "prepayment" in answer["history"][-1]["reason"]
    assert not ReconciliationException.objects.filter(kind="unapplied_payment").exists()

    erp_invoice_raise(erp, number="INV-9100", customer="C1001", amount="562.99", order_id=order_id)
    erp_invoices_sync_and_follow(connection=erp)
    receipt.refresh_from_db()
    assert receipt.status == "pending"
    postings_post_due(time_budget_seconds=30)
    receipt.refresh_from_db()
    assert receipt.status == "posted", receipt.last_error
    invoice = Invoice.objects.get(connection=erp, invoice_number="INV-9100")
    assert invoice.order.order_id == order_id and invoice.status == "paid"
    assert connector_for(erp).invoice_get(number="INV-9100").balance == D("0")
    answer = api.get(f"/api/v1/orders/{order_id}/").json()
    assert answer["status"] == "posted", answer
    assert any("INV-9100" in event["reason"] for event in answer["history"])
    assert Order.objects.get(order_id=order_id).invoice_number == "INV-9100"
    assert invoices_reconcile(connection=erp).flagged == 0


def test_an_order_invoiced_before_its_payment_is_applied_at_once(erp, api):
    order_id = f"WEB-{erp.system.upper()}-EARLY"
    erp_invoice_raise(erp, number="INV-9200", customer="C1001", amount="562.99", order_id=order_id)
    transaction_id = _ordered_and_paid(api, erp, order_id)
    receipt = ErpPosting.objects.get(document_type="receipt", reference=transaction_id)
    assert receipt.status == "posted", receipt.last_error
    assert connector_for(erp).invoice_get(number="INV-9200").balance == D("0")
    assert api.get(f"/api/v1/orders/{order_id}/").json()["status"] == "posted"
