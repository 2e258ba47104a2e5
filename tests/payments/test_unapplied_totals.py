"""The dashboard's unapplied running total (a trigger's deltas) equals the sum over the payments after
every kind of change: a payment taken, applied, unapplied, refunded, voided, settled, a currency or amount
corrected, rows written and changed in bulk, deleted, truncated; and after folding and rebuilding."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from payments.models import Transaction, UnappliedTotalDelta
from payments.selectors.unapplied import (
    UnappliedTotal,
    unapplied_totals,
    unapplied_totals_from_payments,
    unapplied_totals_from_running_total,
)
from payments.services.allocations import allocation_undo, payment_apply
from payments.services.unapplied_totals import unapplied_totals_compact, unapplied_totals_rebuild
from portal.dashboard import dashboard_unapplied
from portal.lifecycle import status_transition
from tests.factories import (
    ConnectionFactory,
    CustomerFactory,
    InvoiceFactory,
    TransactionFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's"),
]
D = Decimal
Status = Transaction.Status


def agrees() -> list[UnappliedTotal]:
    direct = unapplied_totals_from_payments()
    assert unapplied_totals_from_running_total() == direct
    return direct


def test_each_kind_of_change_keeps_the_running_total_equal_to_the_payments():
    assert agrees() == []
    sale = TransactionFactory(amount=D("100.00"))
    TransactionFactory(amount=D("40.00"), transaction_type=Transaction.Type.ACH_SALE, status=Status.SETTLED)
    TransactionFactory(amount=D("7.00"), currency="CAD")
    # Not unapplied money: a declined sale, a refund, an authorization, a sale applied in full.
    TransactionFactory(amount=D("9.00"), status=Status.DECLINED)
    TransactionFactory(amount=D("9.00"), transaction_type=Transaction.Type.REFUND)
    TransactionFactory(amount=D("9.00"), transaction_type=Transaction.Type.AUTHORIZATION)
    TransactionFactory(amount=D("9.00"), amount_applied=D("9.00"))
    assert agrees() == [
        UnappliedTotal(currency="CAD", count=1, amount=D("7.00")),
        UnappliedTotal(currency="USD", count=2, amount=D("140.00")),
    ]

    status_transition(instance=sale, to_status=Status.SETTLED)  # still unapplied: no delta written
    deltas = UnappliedTotalDelta.objects.count()
    Transaction.objects.filter(pk=sale.pk).update(decision_pending=True)
    assert UnappliedTotalDelta.objects.count() == deltas
    agrees()

    Transaction.objects.filter(pk=sale.pk).update(amount_refunded=D("30.00"))
    status_transition(instance=sale, to_status=Status.PARTIALLY_REFUNDED)
    assert agrees()[1] == UnappliedTotal(currency="USD", count=2, amount=D("110.00"))

    sale.refresh_from_db()
    sale.amount, sale.currency = D("120.00"), "EUR"  # a later record corrects the facts
    sale.save(update_fields=["amount", "currency"])
    assert agrees()[1] == UnappliedTotal(currency="EUR", count=1, amount=D("90.00"))

    status_transition(instance=sale, to_status=Status.REFUNDED)
    Transaction.objects.filter(currency="CAD").update(status=Status.VOIDED)
    assert agrees() == [UnappliedTotal(currency="USD", count=1, amount=D("40.00"))]

    Transaction.objects.filter(transaction_type=Transaction.Type.ACH_SALE).delete()
    assert agrees() == []


def test_applying_and_undoing_an_application_moves_the_total():
    erp = ConnectionFactory(system="sage_300")
    customer = CustomerFactory()
    InvoiceFactory(connection=erp, customer=customer, amount=D("60.00"))
    payment = TransactionFactory(customer=customer, amount=D("100.00"))
    (allocation,) = payment_apply(payment=payment, erp_connection=erp)
    assert agrees() == [UnappliedTotal(currency="USD", count=1, amount=D("40.00"))]
    allocation_undo(allocation=allocation, actor=UserFactory(), reason="wrong invoice")
    assert agrees() == [UnappliedTotal(currency="USD", count=1, amount=D("100.00"))]


def test_bulk_writes_are_counted_once_per_row():
    connection_ = ConnectionFactory()
    rows = Transaction.objects.bulk_create(
        TransactionFactory.build(connection=connection_, amount=D(amount))
        for amount in ("1.10", "2.20", "3.30")
    )
    assert agrees() == [UnappliedTotal(currency="USD", count=3, amount=D("6.60"))]
    Transaction.objects.filter(pk__in=[row.pk for row in rows]).update(amount_applied=D("1.00"))
    assert agrees() == [UnappliedTotal(currency="USD", count=3, amount=D("3.60"))]


def test_truncating_the_payments_empties_the_running_total():
    TransactionFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the factories' deferred foreign-key checks
        cursor.execute("TRUNCATE payments_transaction CASCADE")
    assert agrees() == [] and not UnappliedTotalDelta.objects.exists()


def test_folding_keeps_the_figures_in_one_row_per_currency():
    for amount in ("1.00", "2.00", "3.00"):
        TransactionFactory(amount=D(amount))
    TransactionFactory(amount=D("5.00"), currency="CAD")
    voided = TransactionFactory(amount=D("8.00"), currency="EUR")
    status_transition(instance=voided, to_status=Status.VOIDED)
    before = agrees()
    assert unapplied_totals_compact() == 2  # EUR's deltas cancel out: no row kept for it
    assert agrees() == before
    assert unapplied_totals() == before
    assert unapplied_totals_compact() == 2


def test_rebuild_mends_a_running_total_that_drifted_and_the_dashboard_reads_it():
    TransactionFactory(amount=D("12.34"))
    UnappliedTotalDelta.objects.create(currency="USD", payments=5, amount=D("999.00"))  # drift
    assert unapplied_totals_from_running_total() != unapplied_totals_from_payments()
    call_command("unapplied_totals_rebuild", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert agrees() == [UnappliedTotal(currency="USD", count=1, amount=D("12.34"))]
    assert UnappliedTotalDelta.objects.count() == 1
    assert [(row.currency, row.count, row.amount) for row in dashboard_unapplied()] == [
        ("USD", 1, D("12.34"))
    ]
    assert unapplied_totals_rebuild() == 1
