"""Invoice application rules, review items for unapplied payments, and undoing an application."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import CustomerLink
from integrations.models import AuditEvent, ErpPosting, StatusMapping
from payments.erp.documents import reversal_build
from payments.models import ReconciliationException
from payments.services.allocations import allocation_undo, payment_apply
from tests.factories import (
    ConnectionFactory,
    CustomerFactory,
    ErpPostingFactory,
    InvoiceFactory,
    TransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def erp():
    return ConnectionFactory(system="sage_300")


def invoices(erp, customer, *amounts_and_ages):
    today = timezone.localdate()
    return [
        InvoiceFactory(
            connection=erp,
            customer=customer,
            amount=D(amount),
            due_on=today - timedelta(days=age),
            invoice_number=f"IN-{age}",
        )
        for amount, age in amounts_and_ages
    ]


def applied(allocations):
    return [(a.invoice.invoice_number, a.amount, a.rule) for a in allocations]


def test_reference_first_then_oldest_open_first_across_many_invoices(erp):
    customer = CustomerFactory()
    open_ = invoices(
        erp, customer, ("100", 5), ("100", 50), ("100", 40), ("100", 30), ("100", 20), ("100", 10)
    )
    payment = TransactionFactory(customer=customer, amount=D("350"), invoice_reference="IN-5")
    result = payment_apply(payment=payment, erp_connection=erp)
    assert applied(result) == [
        ("IN-5", D("100"), "reference"),
        ("IN-50", D("100"), "oldest_open"),
        ("IN-40", D("100"), "oldest_open"),
        ("IN-30", D("50"), "oldest_open"),
    ]
    for invoice in open_:
        invoice.refresh_from_db()
    assert [(i.invoice_number, i.balance, i.status) for i in open_[3:]] == [
        ("IN-30", D("50.00"), "partially_paid"),
        ("IN-20", D("100.00"), "open"),
        ("IN-10", D("100.00"), "open"),
    ]
    assert not ReconciliationException.objects.exists()


def test_an_overpayment_stays_on_account_without_a_review_item(erp):
    customer = CustomerFactory()
    invoices(erp, customer, ("80", 3))
    payment = TransactionFactory(customer=customer, amount=D("100"))
    payment_apply(payment=payment, erp_connection=erp)
    payment.refresh_from_db()
    assert payment.amount_applied == D("80.00")
    assert not ReconciliationException.objects.exists()


def test_no_invoice_found_is_on_account_plus_one_review_item(erp):
    payment = TransactionFactory(customer=CustomerFactory(), amount=D("100"), invoice_reference="INV-404")
    for _ in range(2):
        assert payment_apply(payment=payment, erp_connection=erp) == []
    (review,) = ReconciliationException.objects.all()
    assert (review.kind, review.transaction, review.difference) == ("unapplied_payment", payment, D("100.00"))
    assert "INV-404" in review.reason


def test_undo_reopens_the_invoice_and_plans_a_reversal_of_the_posted_receipt(erp):
    customer = CustomerFactory()
    CustomerLink.objects.create(customer=customer, connection=erp, external_id="C1001")
    (invoice,) = invoices(erp, customer, ("100", 3))
    payment = TransactionFactory(customer=customer, amount=D("100"))
    (allocation,) = payment_apply(payment=payment, erp_connection=erp)
    ErpPostingFactory(
        connection=erp,
        reference=payment.transaction_id,
        transaction=payment,
        status="posted",
        erp_document_number="PY9",
    )
    StatusMapping.objects.create(
        erp="sage_300", paytrace_status="voided", erp_status="Reversed", action="reversal"
    )
    user = UserFactory()
    allocation_undo(allocation=allocation, actor=user, reason="applied to the wrong invoice")
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert (invoice.balance, invoice.status, payment.amount_applied) == (D("100.00"), "open", D("0.00"))
    reversal = ErpPosting.objects.get(document_type="reversal")
    assert reversal.reference == f"{payment.transaction_id}-U{allocation.pk}"
    document = reversal_build(posting=reversal, connector=None)
    assert (document.amount, document.original_document_number, document.customer_number) == (
        D("100.00"),
        "PY9",
        "C1001",
    )
    assert AuditEvent.objects.get(action="allocation.undo").actor == user

    allocation_undo(allocation=allocation, actor=user, reason="again")
    assert ErpPosting.objects.filter(document_type="reversal").count() == 1


def test_undo_before_the_receipt_posts_needs_no_reversal(erp):
    customer = CustomerFactory()
    invoices(erp, customer, ("100", 3))
    payment = TransactionFactory(customer=customer, amount=D("100"))
    (allocation,) = payment_apply(payment=payment, erp_connection=erp)
    allocation_undo(allocation=allocation, actor=None, reason="wrong")
    assert not ErpPosting.objects.filter(document_type="reversal").exists()
