"""Issue 11's "done when", walked through on each ERP as a new user would after `demo`, over real HTTP:
invoices entered through the ERP simulator's own API, PayTrace sales through the sandbox, signed webhooks
to the portal's endpoint, the storefront API with a token, then the inbox drain, the invoice sync and the
poster as the cluster runs them.

1. an invoice entered in the ERP after the demo, synced, is paid by a sale carrying its number; one entered
   and never synced is paid by a keyed sale (no vault customer) carrying its number;
2. a void of that sale restores the balance on both sides;
3. an API order's payment lands on the invoice the ERP raises from its sales order, which carries the
   number the ERP gave the order (not the storefront's id);
4. the CAD customer's receipt posts, converted, with no review item;
5. a chargeback leaves both sides agreeing;
6. `reconcile_invoices` reports no drift."""

import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from integrations import inbox
from integrations.models import Connection, ErpPosting
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from integrations.sage.base import InvoiceData
from integrations.sage.registry import connector_for
from integrations.webhook_intake import webhook_signature_header
from payments.models import Invoice, Order, ReconciliationException, Transaction
from payments.services.api_tokens import api_token_create
from payments.services.chargebacks import chargeback_record
from payments.services.invoice_arrivals import erp_invoices_sync_and_follow
from payments.services.invoice_drift import invoices_reconcile
from tests.api.conftest import order_body, storefront_user
from tests.integrations.paytrace_helpers import TEST_VISA

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
ERPS = {"sage_300": "Sage 300 (sandbox)", "sage_x3": "Sage X3 (sandbox)", "sage_pro": "Sage Pro (sandbox)"}


@pytest.fixture(params=list(ERPS))
def walk(request, demo_world, live_server):
    """The demo with PayTrace's payments bound for one ERP, as a user sets it on the PayTrace connection."""
    paytrace = Connection.objects.get(system="paytrace")
    paytrace.options = {**paytrace.options, "erp_connection": ERPS[request.param]}
    paytrace.save(update_fields=["options"])
    return paytrace, Connection.objects.get(name=ERPS[request.param]), live_server.url


def _sage300_invoice_enter(erp: Connection, *, number: str, customer: str, amount: str, order: str) -> str:
    """As Sage's sample integration does: an invoice batch entered ready to post, then posted."""
    base = f"{erp.base_url}/-/{erp.options['company']}/AR"
    auth = ("ADMIN", "ADMIN")
    entry = {
        "CustomerNumber": customer,
        "DocumentNumber": number,
        "DocumentType": "Invoice",
        "OrderNumber": order,
        "InvoiceDetails": [{"ExtendedAmountWithTIP": amount, "RevenueAccount": "4000"}],
    }
    body = {"Description": "keyed by hand", "BatchStatus": "ReadyToPost", "Invoices": [entry]}
    assert requests.post(f"{base}/ARInvoiceBatches", json=body, auth=auth, timeout=10).status_code == 201
    posted = requests.post(
        f"{base}/ARPostInvoices('$process')", json={"PostAllBatches": "Postallbatches"}, auth=auth, timeout=10
    )
    assert posted.status_code == 204
    return number


def _unique() -> str:
    # Twelve hex characters: never a run of 13 digits, which the PCI scan of the suite's writes would read as
    # a card number (a nanosecond clock was one, 6681831354593).
    return uuid.uuid4().hex[:12]


def _invoice_enter(erp: Connection, *, customer: str, amount: str, order: str = "", currency="USD") -> str:
    """An invoice entered in the ERP through its own API; the ERP's number for it (X3 and Sage Pro number
    their documents themselves)."""
    if erp.system == "sage_300":
        number = f"WALK-{Invoice.objects.count() + 1}"
        return _sage300_invoice_enter(erp, number=number, customer=customer, amount=amount, order=order)
    today = timezone.localdate()
    document = connector_for(erp).invoice_create(
        invoice=InvoiceData(
            reference=order or f"HAND-{_unique()}",
            customer_number=customer,
            amount=D(amount),
            currency=currency,
            invoice_date=today,
            due_date=today + timedelta(days=30),
            account={"sage_x3": "706000", "sage_pro": "4000"}[erp.system],
            defaults={"ITMREF": "SERVICE"} if erp.system == "sage_x3" else {},
        )
    )
    return document.number


def _hint(base_url: str, event_type: str, transaction_id: str) -> None:
    body = json.dumps(
        {
            "id": f"evt-{event_type}-{transaction_id}-{_unique()}",
            "type": event_type,
            "created": "2026-12-01T10:00:00Z",
            "data": {"transactionId": transaction_id},
        }
    ).encode()
    signature = webhook_signature_header(
        body=body, secret=settings.PAYTRACE_WEBHOOK_SECRET, timestamp=int(time.time())
    )
    answer = requests.post(
        f"{base_url}/webhooks/paytrace/",
        data=body,
        headers={"PayTrace-Signature": signature, "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    inbox.webhook_events_drain(time_budget_seconds=30)
    postings_post_due(time_budget_seconds=30)


def _keyed_sale(base_url: str, *, amount: str, invoice: str) -> str:
    """A card keyed in the sandbox's virtual terminal: no vault customer, the invoice number only."""
    token = requests.post(
        f"{base_url}/sandbox/paytrace/oauth/token",
        data={"grant_type": "password", "username": "demo", "password": "demo-password"},
        timeout=10,
    ).json()["access_token"]
    body = {
        "amount": amount,
        "credit_card": {"number": TEST_VISA.number, "expiration_month": 12, "expiration_year": 2030},
        "csc": TEST_VISA.csc,
        "billing_address": {"name": "Walk-in payer", "zip": "98101"},
        "invoice_id": invoice,
        "integrator_id": "PAYSAGE01",
    }
    answer = requests.post(
        f"{base_url}/sandbox/paytrace/v1/transactions/sale/keyed",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert answer["success"], answer
    return str(answer["transaction_id"])


def _both_sides(erp: Connection, number: str) -> tuple[Decimal, Decimal, str]:
    local = Invoice.objects.get(connection=erp, invoice_number=number)
    return connector_for(erp).invoice_get(number=number).balance, local.balance, local.status


def _receipt(transaction_id: str) -> ErpPosting:
    return ErpPosting.objects.get(document_type="receipt", reference=transaction_id)


def test_done_when_on_each_erp(walk):
    paytrace, erp, base_url = walk
    client = PayTraceClient.from_connection(paytrace)

    # 1. Entered in the ERP after the demo, synced, then paid by a sale carrying its number.
    number = _invoice_enter(erp, customer="C1001", amount="300.00")
    erp_invoices_sync_and_follow(connection=erp)
    sale = client.sale(
        amount=D("300.00"), source=VaultCustomer(customer_id="C1001"), details=Details(invoice_id=number)
    ).transaction_id
    _hint(base_url, "transaction.success", sale)
    assert _receipt(sale).status == "posted", _receipt(sale).last_error
    assert _both_sides(erp, number) == (D("0"), D("0"), "paid")
    # Entered and never synced, paid by a keyed sale that names it and no vault customer.
    unsynced = _invoice_enter(erp, customer="C1002", amount="120.00")
    keyed = _keyed_sale(base_url, amount="120.00", invoice=unsynced)
    _hint(base_url, "transaction.success", keyed)
    assert _receipt(keyed).status == "posted", _receipt(keyed).last_error
    assert _both_sides(erp, unsynced) == (D("0"), D("0"), "paid")

    # 2. The void gives the money back on both sides.
    client.void(transaction_id=sale)
    _hint(base_url, "transaction.void", sale)
    reversal = ErpPosting.objects.get(document_type="reversal", reference=f"{sale}-V")
    assert reversal.status == "posted", reversal.last_error
    assert _both_sides(erp, number) == (D("300.00"), D("300.00"), "open")

    # 3. An API order paid before the ERP invoices it; the ERP's invoice carries the ERP's order number.
    key = api_token_create(actor=None, user=storefront_user()).key
    order_id = f"WEB-WALK-{erp.system}"
    paid = client.sale(
        amount=D("562.99"), source=VaultCustomer(customer_id="C1001"), details=Details(invoice_id=order_id)
    ).transaction_id
    answer = requests.post(
        f"{base_url}/api/v1/orders/",
        json=order_body(order_id, erp=erp.system, paytrace_transaction_id=paid),
        headers={"Authorization": f"Token {key}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    _hint(base_url, "transaction.success", paid)
    assert _receipt(paid).status == "held"
    erp_order = Order.objects.get(order_id=order_id).erp_order_number
    assert erp_order
    invoiced = _invoice_enter(erp, customer="C1001", amount="562.99", order=erp_order)
    erp_invoices_sync_and_follow(connection=erp)
    postings_post_due(time_budget_seconds=30)
    assert _receipt(paid).status == "posted", _receipt(paid).last_error
    assert _both_sides(erp, invoiced) == (D("0"), D("0"), "paid")
    status = requests.get(
        f"{base_url}/api/v1/orders/{order_id}/", headers={"Authorization": f"Token {key}"}, timeout=10
    ).json()
    assert status["status"] == "posted", status

    # 4. The CAD customer's receipt posts, converted at the rate, and asks nobody to look.
    cad = client.sale(
        amount=D("729.27"), source=VaultCustomer(customer_id="C1006"), details=Details(invoice_id="INV-5008")
    ).transaction_id
    _hint(base_url, "transaction.success", cad)
    assert _receipt(cad).status == "posted", _receipt(cad).last_error
    assert _both_sides(erp, "INV-5008") == (D("0"), D("0"), "paid")
    assert not ReconciliationException.objects.filter(transaction__transaction_id=cad).exists()

    # 5. A chargeback of a settled sale reopens the invoice in the ERP and here.
    disputed = client.sale(
        amount=D("1250.00"), source=VaultCustomer(customer_id="C1001"), details=Details(invoice_id="INV-5001")
    ).transaction_id
    _hint(base_url, "transaction.success", disputed)
    client.settle()
    chargeback_record(
        sale=Transaction.objects.get(transaction_id=disputed),
        amount=None,
        occurred_at=timezone.now(),
        reason="fraud",
        source="walkthrough",
    )
    postings_post_due(time_budget_seconds=30)
    reversal = ErpPosting.objects.get(document_type="reversal", reference=f"{disputed}-C1")
    assert reversal.status == "posted", reversal.last_error
    assert _both_sides(erp, "INV-5001") == (D("1250.00"), D("1250.00"), "open")

    # 6. No drift anywhere.
    assert invoices_reconcile(connection=erp).flagged == 0
    assert not ErpPosting.objects.filter(status="dead").exists()


def test_reconcile_invoices_says_no_drift_after_the_demo(demo_world, capsys):
    call_command("reconcile_invoices")
    assert "no drift" in capsys.readouterr().out
