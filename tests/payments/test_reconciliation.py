"""Settlement reconciliation rules on our own tables: matching, totals, fees, tolerance, idempotence."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import ErpPosting, FieldDefault, GLAccountRule
from payments.models import JournalEntry, ReconciliationException, SettlementBatch
from payments.services.reconciliation import settlement_batches_reconcile
from tests.factories import ConnectionFactory, ErpPostingFactory, SettlementBatchFactory, TransactionFactory

pytestmark = pytest.mark.django_db
Kind = ReconciliationException.Kind
D = Decimal


@pytest.fixture
def world():
    erp = ConnectionFactory(system="sage_300", name="erp")
    paytrace = ConnectionFactory(system="paytrace", name="pt", options={"erp_connection": "erp"})
    for purpose, account in (("clearing", "1020"), ("cash", "1000"), ("write_off", "6900"), ("fees", "6100")):
        GLAccountRule.objects.create(erp="sage_300", purpose=purpose, account=account)
    GLAccountRule.objects.create(
        erp="sage_300",
        purpose="fees",
        card_brand="VISA",
        account="6110",
        fee_percent=D("2.5"),
        fee_fixed=D("0.10"),
    )
    FieldDefault.objects.create(
        erp="sage_300", document_type="reconciliation", field="reconciliation_tolerance", value="0.05"
    )
    return {"erp": erp, "paytrace": paytrace}


def settled_batch(world, amounts, *, fee=None, posted=True, **fields) -> SettlementBatch:
    """A batch of VISA sales with posted receipts; `fee` is what the processor reports, if anything."""
    total = sum((D(a) for a in amounts), D("0"))
    raw = {"fee_amount": fee} if fee is not None else {}
    batch = SettlementBatchFactory(
        connection=world["paytrace"],
        transaction_count=len(amounts),
        sales_amount=total,
        net_amount=total,
        raw=raw,
        **fields,
    )
    for amount in amounts:
        sale = TransactionFactory(
            connection=world["paytrace"], status="settled", amount=D(amount), settlement_batch=batch
        )
        if posted:
            receipt_posted(world, sale)
    return batch


def receipt_posted(world, sale, status="posted"):
    return ErpPostingFactory(
        connection=world["erp"],
        reference=sale.transaction_id,
        transaction=sale,
        status=status,
        erp_document_number="PY1" if status == "posted" else "",
    )


def lines(reference):
    return [
        (line.account, line.debit, line.credit)
        for line in JournalEntry.objects.get(reference=reference).lines.order_by("line_number")
    ]


def test_a_clean_batch_is_reconciled_with_fees_and_net_deposit_planned_once(world):
    batch = settled_batch(world, ["100.00", "50.00"], fee="3.95")
    summary = settlement_batches_reconcile(connection=world["paytrace"])
    batch.refresh_from_db()
    assert batch.status == "reconciled" and summary.reconciled == 1
    assert (batch.fee_amount, batch.deposit_amount) == (D("3.95"), D("146.05"))
    suffix = f"{world['paytrace'].pk}-{batch.batch_number}"
    assert lines(f"FEES-{suffix}") == [("6110", D("3.95"), D("0")), ("1020", D("0"), D("3.95"))]
    assert lines(f"DEP-{suffix}") == [("1000", D("146.05"), D("0")), ("1020", D("0"), D("146.05"))]
    assert ErpPosting.objects.filter(document_type="journal_entry", status="pending").count() == 2
    assert not ReconciliationException.objects.exists()

    SettlementBatch.objects.filter(pk=batch.pk).update(status="imported")
    again = settlement_batches_reconcile(connection=world["paytrace"])
    assert again.journal_entries == 0 and JournalEntry.objects.count() == 2


def test_a_sale_missing_in_the_erp_is_an_exception_until_its_receipt_posts(world):
    batch = settled_batch(world, ["100.00"])
    lost = TransactionFactory(
        connection=world["paytrace"], status="settled", amount=D("20"), settlement_batch=batch
    )
    SettlementBatch.objects.filter(pk=batch.pk).update(transaction_count=2, sales_amount=120, net_amount=120)
    settlement_batches_reconcile(connection=world["paytrace"])
    (exception,) = ReconciliationException.objects.all()
    assert (exception.kind, exception.transaction, exception.difference) == (
        Kind.MISSING_IN_ERP,
        lost,
        D("20"),
    )
    assert "no ERP document was ever planned" in exception.reason
    batch.refresh_from_db()
    assert batch.status == "exceptions"

    settlement_batches_reconcile(connection=world["paytrace"])
    assert ReconciliationException.objects.count() == 1  # dedup_key: running again adds nothing

    receipt_posted(world, lost)
    summary = settlement_batches_reconcile(connection=world["paytrace"])
    exception.refresh_from_db()
    batch.refresh_from_db()
    assert summary.resolved == 1 and exception.status == "resolved"
    assert batch.status == "reconciled"


def test_a_receipt_still_in_flight_waits_without_an_exception(world):
    batch = settled_batch(world, ["10.00"], posted=False)
    receipt_posted(world, batch.transactions.get(), status="pending")
    summary = settlement_batches_reconcile(connection=world["paytrace"])
    batch.refresh_from_db()
    assert summary.awaiting_erp == 1 and batch.status == "imported"
    assert not ReconciliationException.objects.exists()


def test_a_fee_mismatch_above_the_tolerance_stays_open(world):
    batch = settled_batch(world, ["100.00"], fee="4.00")  # rules: 2.5 % + 0.10 = 2.60
    settlement_batches_reconcile(connection=world["paytrace"])
    exception = ReconciliationException.objects.get(kind=Kind.FEE_MISMATCH)
    assert (exception.status, exception.expected_amount, exception.reported_amount) == (
        "open",
        D("2.60"),
        D("4.00"),
    )
    assert exception.difference == D("1.40") and "GL fee rules give 2.60" in exception.reason
    batch.refresh_from_db()
    assert batch.deposit_amount == D("96.00")


def test_a_difference_within_the_tolerance_is_written_off(world):
    settled_batch(world, ["100.00"], fee="2.63")
    summary = settlement_batches_reconcile(connection=world["paytrace"])
    exception = ReconciliationException.objects.get(kind=Kind.FEE_MISMATCH)
    assert summary.written_off == 1 and exception.status == "written_off"
    assert exception.write_off_account == "6900"
    assert exception.journal_entry.kind == "write_off"
    assert lines(exception.journal_entry.reference) == [
        ("6900", D("0.03"), D("0")),
        ("1020", D("0"), D("0.03")),
    ]
    assert ErpPosting.objects.filter(journal_entry=exception.journal_entry, status="pending").exists()


def test_batch_totals_that_differ_from_the_listed_transactions(world):
    batch = settled_batch(world, ["100.00"], fee="2.60")
    SettlementBatch.objects.filter(pk=batch.pk).update(sales_amount=D("110.00"), net_amount=D("110.00"))
    settlement_batches_reconcile(connection=world["paytrace"])
    exception = ReconciliationException.objects.get(kind=Kind.TOTAL_MISMATCH)
    assert (exception.expected_amount, exception.reported_amount, exception.difference) == (
        D("100.00"),
        D("110.00"),
        D("10.00"),
    )


def test_a_double_charge_in_one_batch_is_a_duplicate(world):
    batch = settled_batch(world, [])
    for _ in range(2):
        sale = TransactionFactory(
            connection=world["paytrace"],
            status="settled",
            amount=D("75"),
            invoice_reference="INV-9",
            settlement_batch=batch,
        )
        receipt_posted(world, sale)
    SettlementBatch.objects.filter(pk=batch.pk).update(transaction_count=2, sales_amount=150, net_amount=150)
    settlement_batches_reconcile(connection=world["paytrace"])
    exception = ReconciliationException.objects.get(kind=Kind.DUPLICATE)
    assert exception.difference == D("75") and "INV-9" in exception.reason


def test_a_posted_sale_no_batch_settled_is_missing_from_the_batch(world):
    settled_batch(world, ["10.00"])
    stale = TransactionFactory(
        connection=world["paytrace"], status="approved", occurred_at=timezone.now() - timedelta(days=3)
    )
    receipt_posted(world, stale)
    fresh = TransactionFactory(connection=world["paytrace"], status="approved")
    receipt_posted(world, fresh)
    settlement_batches_reconcile(connection=world["paytrace"])
    (exception,) = ReconciliationException.objects.filter(kind=Kind.MISSING_FROM_BATCH)
    assert exception.transaction == stale


def test_reconcile_command_prints_a_summary_table(world, capsys):
    settled_batch(world, ["100.00"], fee="9.99")
    world["paytrace"].environment = "dev"
    call_command("reconcile", "--skip-import")
    out = capsys.readouterr().out
    assert "1/1 batches" in out and "new exception: fee_mismatch" in out and "with exceptions" in out
