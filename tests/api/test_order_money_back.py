"""An order's status follows its payment after the receipt: a void ends it `voided`, refunds make it
`partially_refunded` then `refunded`, and the history names the ERP documents that follow with their
numbers. Sage 300 over its sandbox and real HTTP."""

import pytest

from integrations.models import Connection, ErpPosting
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from payments.models import Order
from payments.services.invoice_arrivals import erp_invoices_sync_and_follow
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide
from tests.api.conftest import order_body
from tests.integrations.paytrace_helpers import sale
from tests.payments.erp_invoicing import erp_invoice_raise

pytestmark = pytest.mark.django_db(transaction=True)


def _posted_order(api, order_id: str, *, settle: bool) -> tuple[Order, str]:
    paytrace = Connection.objects.get(system="paytrace")
    client = PayTraceClient.from_connection(paytrace)
    transaction_id = sale(client, amount="562.99", invoice_id=order_id)
    if settle:
        client.settle()
    body = order_body(order_id, erp="sage_300", paytrace_transaction_id=transaction_id)
    assert api.post("/api/v1/orders/", body, format="json").status_code == 201
    postings_post_due(time_budget_seconds=30)
    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)
    postings_post_due(time_budget_seconds=30)
    # The ERP invoices the order: its payment, held as a prepayment until then, is applied and posted.
    erp = Connection.objects.get(name="Sage 300 (sandbox)")
    erp_invoice_raise(erp, number=f"IN-{order_id}", customer="C1001", amount="562.99", order_id=order_id)
    erp_invoices_sync_and_follow(connection=erp)
    postings_post_due(time_budget_seconds=30)
    order = Order.objects.get(order_id=order_id)
    assert order.status == "posted", order.status_reason
    return order, transaction_id


def _refund(api, transaction_id: str, request_id: str, amount: str | None = None):
    body = {"request_id": request_id, "reason": "returned", **({"amount": amount} if amount else {})}
    response = api.post(f"/api/v1/transactions/{transaction_id}/refund/", body, format="json")
    assert response.status_code == 201, response.json()


def _history(api, order_id: str) -> list[tuple[str, str]]:
    answer = api.get(f"/api/v1/orders/{order_id}/").json()
    return answer["status"], [(event["status"], event["reason"]) for event in answer["history"]]


def test_a_voided_payment_makes_the_order_voided_with_the_reversal_number(demo_world, api):
    order, transaction_id = _posted_order(api, "WEB-VOID-1", settle=False)
    _refund(api, transaction_id, "void-1")  # unsettled: PayTrace voids it
    status, history = _history(api, order.order_id)
    assert status == "voided"
    assert history[-1][0] == "voided" and f"Payment {transaction_id} voided" in history[-1][1]
    postings_post_due(time_budget_seconds=30)
    reversal = ErpPosting.objects.get(document_type="reversal", reference=f"{transaction_id}-V")
    assert reversal.status == "posted"
    status, history = _history(api, order.order_id)
    assert status == "voided"
    assert history[-1] == (
        "voided",
        f"Receipt reversal {reversal.erp_document_number} in Sage 300 (sandbox) for {transaction_id}",
    ), history


def test_refunds_make_the_order_partially_refunded_then_refunded_with_credit_memo_numbers(demo_world, api):
    order, transaction_id = _posted_order(api, "WEB-REFUND-1", settle=True)
    _refund(api, transaction_id, "refund-1", "62.99")
    status, history = _history(api, order.order_id)
    assert status == "partially_refunded"
    assert "62.99 USD of payment" in history[-1][1] and "credit memo planned" in history[-1][1]
    postings_post_due(time_budget_seconds=30)
    memo = ErpPosting.objects.get(document_type="credit_memo")
    status, history = _history(api, order.order_id)
    assert history[-1][0] == "partially_refunded" and memo.erp_document_number in history[-1][1]
    _refund(api, transaction_id, "refund-2")  # the rest
    status, history = _history(api, order.order_id)
    assert status == "refunded" and "500.00 USD of payment" in history[-1][1]
    # Deciding the same refund again tells nothing twice.
    events = len(history)
    for refund in Order.objects.get(pk=order.pk).transactions.filter(transaction_type="refund"):
        transaction_decide(refund)
    assert len(_history(api, order.order_id)[1]) == events
