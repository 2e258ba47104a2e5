"""Voids and chargebacks keep both sides in step, in each ERP over its simulator and real HTTP: the local
allocation and the ERP's document move together, and `reconcile_invoices` finds no drift after."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import CustomerLink
from integrations.models import Connection, ErpPosting, StatusMapping
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from integrations.sage.base import ReceiptApplication, ReceiptData
from integrations.sage.registry import connector_for
from payments.models import Invoice, Transaction
from payments.services.billing import subscriptions_bill_due
from payments.services.chargebacks import chargeback_record
from payments.services.invoice_drift import invoices_reconcile
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide
from tests.factories import SubscriptionFactory

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
    assert [(a.invoice.invoice_number, a.amount) for a in again.allocations.all()] == [
        ("INV-5001", D("1250.00"))
    ]
    assert _erp_balance(erp, "INV-5001") == D("0")
    _no_drift(erp)


def _settled(paytrace, customer: str, amount: str, invoice: str) -> Transaction:
    result = _client(paytrace).sale(
        amount=D(amount), source=VaultCustomer(customer_id=customer), details=Details(invoice_id=invoice)
    )
    _client(paytrace).settle()
    _sync_and_post(paytrace)
    return Transaction.objects.get(transaction_id=result.transaction_id)


def _chargeback(sale: Transaction, *, amount: str | None = None, days_later: int = 0):
    return chargeback_record(
        sale=sale,
        amount=D(amount) if amount else None,
        occurred_at=timezone.now() + timedelta(days=days_later),
        reason="fraud",
        source="test",
    )


def test_a_chargeback_reopens_the_invoice_in_the_erp_with_its_own_reversal_once(world):
    paytrace, erp = world
    sale = _settled(paytrace, "C1001", "1250.00", "INV-5001")
    assert _erp_balance(erp, "INV-5001") == D("0")
    first = _chargeback(sale)
    again = _chargeback(sale)  # the same dispute reported twice: nothing new
    assert first.created and not again.created and again.transaction == first.transaction
    postings_post_due(time_budget_seconds=30)
    reversal = ErpPosting.objects.get(document_type="reversal", transaction=first.transaction)
    assert (reversal.reference, reversal.status) == (f"{sale.transaction_id}-C1", "posted"), (
        reversal.last_error
    )
    assert not ErpPosting.objects.filter(document_type="journal_entry").exists()
    assert _erp_balance(erp, "INV-5001") == D("1250.00")
    assert (_local(erp, "INV-5001").balance, _local(erp, "INV-5001").status) == (D("1250.00"), "open")
    _no_drift(erp)
    # A second, different chargeback of the same sale: its receipt is already reversed, so the loss is
    # booked and nothing is reversed twice.
    second = _chargeback(sale, days_later=1)
    assert second.created
    postings_post_due(time_budget_seconds=30)
    entry = ErpPosting.objects.get(document_type="journal_entry", transaction=second.transaction)
    assert entry.status == "posted", entry.last_error
    assert ErpPosting.objects.filter(document_type="reversal").count() == 1
    assert _erp_balance(erp, "INV-5001") == D("1250.00") and _local(erp, "INV-5001").balance == D("1250.00")
    _no_drift(erp)


def test_a_chargeback_finance_keeps_paid_books_the_loss_and_both_sides_stay_paid(world):
    paytrace, erp = world
    StatusMapping.objects.filter(erp=erp.system, paytrace_status="chargeback").update(
        action="journal_entry", reopen_invoice=False
    )
    sale = _settled(paytrace, "C1001", "1250.00", "INV-5001")
    recorded = _chargeback(sale)
    postings_post_due(time_budget_seconds=30)
    entry = ErpPosting.objects.get(document_type="journal_entry", transaction=recorded.transaction)
    assert entry.status == "posted", entry.last_error
    chargebacks = {"sage_300": "6200", "sage_x3": "658000", "sage_pro": "6200"}[erp.system]
    assert [(line.account, line.debit) for line in entry.journal_entry.lines.all()][0] == (
        chargebacks,
        D("1250.00"),
    )
    assert not ErpPosting.objects.filter(document_type="reversal").exists()
    assert _erp_balance(erp, "INV-5001") == D("0") and _local(erp, "INV-5001").status == "paid"
    _no_drift(erp)


def test_a_partial_chargeback_books_the_loss_as_no_erp_reverses_part_of_a_receipt(world):
    paytrace, erp = world
    sale = _settled(paytrace, "C1001", "1250.00", "INV-5001")
    recorded = _chargeback(sale, amount="250.00")
    postings_post_due(time_budget_seconds=30)
    assert "journal entry books the loss" in recorded.transaction.reconciliation_exceptions.get().reason
    assert ErpPosting.objects.get(document_type="journal_entry").status == "posted"
    assert _erp_balance(erp, "INV-5001") == D("0") and _local(erp, "INV-5001").status == "paid"
    _no_drift(erp)


def test_a_void_of_a_receipt_never_posted_cancels_it_and_reopens_our_copy(world):
    paytrace, erp = world
    result = _client(paytrace).sale(
        amount=D("1250.00"), source=VaultCustomer(customer_id="C1001"), details=Details(invoice_id="INV-5001")
    )
    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)  # planned, not posted
    sale = Transaction.objects.get(transaction_id=result.transaction_id)
    assert _local(erp, "INV-5001").status == "paid"
    _client(paytrace).void(transaction_id=sale.transaction_id)
    _sync_and_post(paytrace)
    receipt = ErpPosting.objects.get(document_type="receipt", transaction=sale)
    assert receipt.status == "cancelled" and not ErpPosting.objects.filter(document_type="reversal").exists()
    assert _erp_balance(erp, "INV-5001") == D("1250.00") and _local(erp, "INV-5001").status == "open"
    _no_drift(erp)
    # Voided again (a repeated webhook or sync): nothing changes.
    transaction_decide(Transaction.objects.get(pk=sale.pk))
    assert (
        ErpPosting.objects.filter(transaction=sale).count() == 1 and _local(erp, "INV-5001").status == "open"
    )


def _paid_in_the_erp(erp: Connection, number: str, amount: str, reference: str) -> None:
    """A receipt keyed in the ERP by hand: the ERP's books move without us."""
    facts = {  # payment code, bank, cash account: the demo's mappings
        "sage_300": ("CC", "PAYTRACE", ""),
        "sage_x3": ("CARD", "CARD", ""),
        "sage_pro": ("CC", "PT", "1050"),
    }[erp.system]
    [result] = connector_for(erp).receipts_post(
        receipts=[
            ReceiptData(
                reference=reference,
                customer_number="C1001",
                amount=D(amount),
                currency="USD",
                receipt_date=timezone.localdate(),
                payment_code=facts[0],
                bank_code=facts[1],
                cash_account=facts[2],
                applications=(ReceiptApplication(number, D(amount)),),
            )
        ]
    )
    assert result.error is None, result.error


@pytest.mark.parametrize("elsewhere", ["1250.00", "1000.00"])
def test_an_invoice_paid_in_the_erp_after_planning_sends_the_money_on_account_never_a_dead_letter(
    world, elsewhere
):
    paytrace, erp = world
    result = _client(paytrace).sale(
        amount=D("1250.00"), source=VaultCustomer(customer_id="C1001"), details=Details(invoice_id="INV-5001")
    )
    paytrace_transactions_sync(connection=paytrace, on_change=transaction_decide)  # applied, planned
    _paid_in_the_erp(erp, "INV-5001", elsewhere, "HAND-1")
    postings_post_due(time_budget_seconds=30)
    sale = Transaction.objects.get(transaction_id=result.transaction_id)
    receipt = ErpPosting.objects.get(document_type="receipt", transaction=sale)
    assert receipt.status == "posted", receipt.last_error
    left = D("1250.00") - D(elsewhere)
    assert [(a.invoice.invoice_number, a.amount) for a in sale.allocations.filter(reversed_at=None)] == (
        [("INV-5001", left)] if left else []
    )
    review = sale.reconciliation_exceptions.get(kind="unapplied_payment")
    assert "INV-5001" in review.reason and review.difference == D(elsewhere)
    assert _erp_balance(erp, "INV-5001") == D("0") and _local(erp, "INV-5001").status == "paid"
    _no_drift(erp)


def test_a_subscription_period_raises_its_own_erp_invoice_and_its_receipt_is_applied_to_it(world):
    paytrace, erp = world
    # PayTrace's own ERP is another one: the subscription's connection decides.
    other = Connection.objects.exclude(pk=erp.pk).filter(name__in=ERPS.values()).first()
    paytrace.options = {**paytrace.options, "erp_connection": other.name}
    paytrace.save(update_fields=["options"])
    customer = CustomerLink.objects.get(connection=paytrace, external_id="C1001").customer
    subscription = SubscriptionFactory(
        customer=customer,
        paytrace_connection=paytrace,
        erp_connection=erp,
        paytrace_customer_id="C1001",
        amount=D("49.00"),
        description="Monthly plan",
    )
    summary = subscriptions_bill_due()
    assert summary.charged == 1, summary
    postings_post_due(time_budget_seconds=30)
    charge = subscription.charges.get()
    reference = f"SUB-{subscription.pk}-{charge.period_start:%Y%m%d}"
    raised = ErpPosting.objects.get(document_type="invoice", reference=reference)
    assert (raised.connection, raised.status) == (erp, "posted"), raised.last_error
    receipt = ErpPosting.objects.get(document_type="receipt", transaction=charge.transaction)
    assert (receipt.connection, receipt.status, receipt.depends_on) == (erp, "posted", raised), (
        receipt.last_error
    )
    [allocation] = charge.transaction.allocations.all()
    assert (allocation.invoice.invoice_number, allocation.amount) == (raised.erp_document_number, D("49.00"))
    assert _erp_balance(erp, raised.erp_document_number) == D("0")
    assert _local(erp, "INV-5001").status == "open"  # the customer's oldest invoice is left alone
    assert not ErpPosting.objects.filter(connection=other).exists()
    _no_drift(erp)
    # Deciding the sale again plans nothing new, in the ERP or here.
    transaction_decide(charge.transaction)
    assert ErpPosting.objects.filter(reference=reference).count() == 1
    assert charge.transaction.allocations.count() == 1
