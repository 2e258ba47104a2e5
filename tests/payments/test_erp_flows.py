"""Voids and chargebacks keep both sides in step, in each ERP over its simulator and real HTTP: the local
allocation and the ERP's document move together, and `reconcile_invoices` finds no drift after."""

from decimal import Decimal

import pytest

from customers.models import CustomerLink
from integrations.models import Connection, ErpPosting, StatusMapping
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from integrations.sage.registry import connector_for
from payments.models import Invoice, Transaction
from payments.services.chargebacks import chargeback_record
from payments.services.invoice_drift import invoices_reconcile
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
ERPS = {"sage_300": "Sage 300 (sandbox)", "sage_x3": "Sage X3 (sandbox)", "sage_pro": "Sage Pro (sandbox)"}


@pytest.fixture(params=list(ERPS))
def world(request, demo_world):
    paytrace = Connection.objects.get(system="paytrace")
    paytrace.options = {**paytrace.options, "erp_connection": ERPS[request.param]}
    paytrace.save(update_fields=["options"])
    erp = Connection.objects.get(name=ERPS[request.param])
    return paytrace, erp


def _client(paytrace):
    return PayTraceClient.from_connection(paytrace)


def _sync_and_post(paytrace) -> None:
    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)
    postings_post_due(time_budget_seconds=30)


def _pay(paytrace, customer: str, amount: str, invoice: str) -> Transaction:
    result = _client(paytrace).sale(
        amount=D(amount), source=VaultCustomer(customer_id=customer), details=Details(invoice_id=invoice)
    )
    _sync_and_post(paytrace)
    return Transaction.objects.get(transaction_id=result.transaction_id)


def _erp_balance(erp: Connection, number: str) -> Decimal:
    return connector_for(erp).invoice_get(number=number).balance


def _local(erp: Connection, number: str) -> Invoice:
    return Invoice.objects.get(connection=erp, invoice_number=number)


def _no_drift(erp: Connection) -> None:
    summary = invoices_reconcile(connection=erp)
    assert summary.flagged == 0, summary


def test_a_void_restores_the_balance_on_both_sides_and_the_next_payment_is_applied(world):
    paytrace, erp = world
    sale = _pay(paytrace, "C1001", "1250.00", "INV-5001")
    assert sale.allocations.get().invoice.invoice_number == "INV-5001"
    assert _erp_balance(erp, "INV-5001") == D("0") and _local(erp, "INV-5001").status == "paid"
    _client(paytrace).void(transaction_id=sale.transaction_id)
    _sync_and_post(paytrace)
    reversal = ErpPosting.objects.get(document_type="reversal", reference=f"{sale.transaction_id}-V")
    assert reversal.status == "posted", reversal.last_error
    assert _erp_balance(erp, "INV-5001") == D("1250.00")
    assert (_local(erp, "INV-5001").balance, _local(erp, "INV-5001").status) == (D("1250.00"), "open")
    _no_drift(erp)
    again = _pay(paytrace, "C1001", "1250.00", "INV-5001")
    assert [(a.invoice.invoice_number, a.amount) for a in again.allocations.all()] == [("INV-5001", D("1250.00"))]
    assert _erp_balance(erp, "INV-5001") == D("0")
    _no_drift(erp)
