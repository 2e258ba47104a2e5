"""Refunds, voids and chargebacks against the PayTrace sandbox and the Sage 300 sandbox over real HTTP."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from integrations import inbox
from integrations.models import AuditEvent, ErpPosting, StatusMapping
from integrations.outbox.poster import postings_post_due
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from integrations.sage.registry import connector_for
from payments.models import CreditMemo, Invoice, ReconciliationException, SettlementBatch, Transaction
from payments.services.paytrace import paytrace_record_ingest, paytrace_transactions_sync
from payments.services.pipeline import transaction_decide
from payments.services.refunds import RefundRefused, transaction_refund_start
from tests.factories import UserFactory
from tests.integrations.paytrace_helpers import event, webhook_deliver

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def world(demo_world):
    paytrace = demo_world["connections"]["paytrace"]
    return {**demo_world, "paytrace": paytrace, "client": PayTraceClient.from_connection(paytrace)}


def paid(world, *, customer="C1001", amount="1250.00", invoice="INV-5001", settle=False) -> Transaction:
    """A vaulted-card sale in PayTrace, read back into the portal and decided (applied, receipt planned)."""
    client = world["client"]
    result = client.sale(
        amount=D(amount), source=VaultCustomer(customer_id=customer), details=Details(invoice_id=invoice)
    )
    if settle:
        client.settle()
    raw = client.transaction_export_by_id(transaction_id=result.transaction_id)
    return paytrace_record_ingest(
        connection=world["paytrace"], client=client, raw=raw, on_change=transaction_decide
    ).transaction


def reread(world, transaction_id: str) -> Transaction:
    raw = world["client"].transaction_export_by_id(transaction_id=transaction_id)
    return paytrace_record_ingest(
        connection=world["paytrace"], client=world["client"], raw=raw, on_change=transaction_decide
    ).transaction


def test_void_before_settlement_cancels_the_unposted_receipt(world):
    sale = paid(world)
    receipt = ErpPosting.objects.get(document_type="receipt", reference=sale.transaction_id)
    user = UserFactory()
    with pytest.raises(RefundRefused, match="can only void all of it"):
        transaction_refund_start(transaction=sale, amount=D("10"), reason="part", actor=user)
    voided = transaction_refund_start(transaction=sale, amount=None, reason="customer cancelled", actor=user)
    assert voided.pk == sale.pk and voided.status == "voided"
    receipt.refresh_from_db()
    assert receipt.status == "cancelled"
    audit = AuditEvent.objects.get(action="transaction.void")
    assert (audit.actor, audit.reason, audit.subject_id) == (user, "customer cancelled", str(sale.pk))


def test_partial_refunds_after_settlement_up_to_what_remains_and_credit_memos_post(world):
    sale = paid(world, settle=True)
    first = transaction_refund_start(transaction=sale, amount=D("200.00"), reason="damaged tent", actor=None)
    sale.refresh_from_db()
    assert first.transaction_type == "refund" and first.original == sale
    assert (sale.status, sale.amount_refunded) == ("partially_refunded", D("200.00"))
    with pytest.raises(RefundRefused, match=r"At most 1050.00 USD .* 2000.00 was asked"):
        transaction_refund_start(transaction=sale, amount=D("2000.00"), reason="too much", actor=None)
    rest = transaction_refund_start(transaction=sale, amount=None, reason="returned the rest", actor=None)
    sale.refresh_from_db()
    assert (rest.amount, sale.status, sale.amount_refunded) == (D("1050.00"), "refunded", D("1250.00"))
    with pytest.raises(RefundRefused, match="nothing to refund"):
        transaction_refund_start(transaction=sale, amount=None, reason="again", actor=None)
    assert CreditMemo.objects.get(refund=first).reason == "damaged tent"
    postings_post_due(time_budget_seconds=30)
    memos = ErpPosting.objects.filter(document_type="credit_memo")
    assert sorted(memos.values_list("reference", flat=True)) == sorted(
        [first.transaction_id, rest.transaction_id]
    )
    assert all(posting.status == "posted" for posting in memos), [p.last_error for p in memos]


def test_a_stale_settled_status_voids_on_817(world):
    sale = paid(world)
    Transaction.objects.filter(pk=sale.pk).update(status="settled")  # we think it settled; PayTrace does not
    transaction_refund_start(transaction=sale, amount=None, reason="cancelled", actor=None)
    record = world["client"].transaction_export_by_id(transaction_id=sale.transaction_id)
    assert record["status_message"] == "Voided"
    assert AuditEvent.objects.filter(action="transaction.void").exists()


def test_a_sale_that_settled_since_is_refunded_on_818(world):
    sale = paid(world)
    world["client"].settle()  # settled in PayTrace; the portal has not read it yet
    outcome = transaction_refund_start(transaction=sale, amount=None, reason="cancelled", actor=None)
    assert outcome.transaction_type == "refund" and outcome.amount == sale.amount
    assert AuditEvent.objects.filter(action="transaction.refund").exists()


def test_a_refund_made_elsewhere_plans_the_same_credit_memo_once(world):
    sale = paid(world, settle=True)
    elsewhere = world["client"].refund_for_transaction(transaction_id=sale.transaction_id, amount=D("50.00"))
    for _ in range(2):  # the polling sync and a webhook hint both see it
        paytrace_transactions_sync(connection=world["paytrace"], on_change=transaction_decide)
        reread(world, elsewhere.transaction_id)
    (memo,) = ErpPosting.objects.filter(document_type="credit_memo")
    assert memo.reference == elsewhere.transaction_id and memo.credit_memo.amount == D("50.00")
    sale.refresh_from_db()
    assert (sale.status, sale.amount_refunded) == ("partially_refunded", D("50.00"))


def test_chargeback_webhook_reopens_the_invoice_on_both_sides(world, client):
    """The demo's chargeback row reopens the invoice: here, and in Sage 300 by reversing the sale's receipt
    (its own AR adjustment), so later receipts for that invoice are applied; no journal entry besides."""
    sale = paid(world, settle=True)
    postings_post_due(time_budget_seconds=30)
    invoice = Invoice.objects.get(connection__name="Sage 300 (sandbox)", invoice_number="INV-5001")
    assert invoice.balance == D("0.00")
    payload = event("evt_cb_1", "chargeback.created", sale.transaction_id, amount="1250.00", reason="fraud")
    response, _ = webhook_deliver(client, payload)
    assert response.status_code == 202
    inbox.webhook_events_drain(time_budget_seconds=30, client=world["client"])
    chargeback = Transaction.objects.get(transaction_type="chargeback")
    sale.refresh_from_db()
    invoice.refresh_from_db()
    assert chargeback.transaction_id == f"CB-{sale.transaction_id}-1" and chargeback.original == sale
    assert sale.status == "charged_back"
    assert (invoice.balance, invoice.status) == (D("1250.00"), "open")
    review = ReconciliationException.objects.get(kind="chargeback")
    assert review.transaction == chargeback and "INV-5001 reopened" in review.reason
    postings_post_due(time_budget_seconds=30)
    reversal = ErpPosting.objects.get(document_type="reversal", transaction=chargeback)
    assert (reversal.reference, reversal.status) == (f"{sale.transaction_id}-C1", "posted"), (
        reversal.last_error
    )
    assert connector_for(invoice.connection).invoice_get(number="INV-5001").balance == D("1250.00")
    assert not ErpPosting.objects.filter(document_type="journal_entry", transaction=chargeback).exists()


def test_chargeback_kept_paid_posts_the_journal_entry_the_gl_rules_say(world, client):
    StatusMapping.objects.filter(erp="sage_300", paytrace_status="chargeback").update(reopen_invoice=False)
    sale = paid(world, settle=True)
    postings_post_due(time_budget_seconds=30)
    payload = event("evt_cb_1", "chargeback.created", sale.transaction_id, amount="1250.00", reason="fraud")
    webhook_deliver(client, payload)
    inbox.webhook_events_drain(time_budget_seconds=30, client=world["client"])
    chargeback = Transaction.objects.get(transaction_type="chargeback")
    invoice = Invoice.objects.get(connection__name="Sage 300 (sandbox)", invoice_number="INV-5001")
    assert (invoice.balance, invoice.status) == (D("0.00"), "paid")
    assert "stay paid" in ReconciliationException.objects.get(kind="chargeback").reason
    postings_post_due(time_budget_seconds=30)
    entry = ErpPosting.objects.get(document_type="journal_entry", transaction=chargeback)
    assert entry.status == "posted", entry.last_error
    assert [(line.account, line.debit) for line in entry.journal_entry.lines.all()] == [
        ("6200", D("1250.00")),
        ("1020", D("0.00")),
    ]
    assert connector_for(invoice.connection).invoice_get(number="INV-5001").balance == D("0.00")


def test_import_chargebacks_records_good_rows_once_and_names_the_bad_ones(world, tmp_path):
    sale = paid(world, customer="C1006", amount="999.00", invoice="INV-5008", settle=True)
    report = tmp_path / "disputes.csv"
    report.write_text(
        "transaction_id,amount,date,reason\n"
        f"{sale.transaction_id},100.00,2026-11-20,not received\n"
        "999999999,10.00,2026-11-20,unknown sale\n"
        f"{sale.transaction_id},abc,2026-11-20,bad amount\n"
    )
    for _ in range(2):
        with pytest.raises(CommandError, match=r"line 3: .*999999999.* could not be found") as failure:
            call_command("import_chargebacks", str(report))
        assert "line 4: bad amount" in str(failure.value)
    (chargeback,) = Transaction.objects.filter(transaction_type="chargeback")
    assert (
        chargeback.amount == D("100.00")
        and ReconciliationException.objects.filter(kind="chargeback").count() == 1
    )


def test_import_chargebacks_says_which_row_column_and_why_and_already_recorded_on_a_rerun(
    world, tmp_path, capsys
):
    sale = paid(world, customer="C1006", amount="999.00", invoice="INV-5008", settle=True)
    report = tmp_path / "disputes.csv"
    report.write_text(
        "transaction_id,amount,date,reason\n"
        f"{sale.transaction_id},100.00,2026-11-20,not received\n"
        f"{sale.transaction_id},12,5O,2026-11-20,typo\n"
        f"{sale.transaction_id},1.00,20/11/2026,day first\n"
        ",1.00,2026-11-20,no id\n"
    )
    with pytest.raises(CommandError) as failure:
        call_command("import_chargebacks", str(report))
    message = str(failure.value)
    assert "ConversionSyntax" not in message and "<class" not in message
    assert "line 3: bad date in column date: '5O'" in message  # the comma shifted the columns
    assert "line 4: bad date in column date: '20/11/2026' is not a date written YYYY-MM-DD" in message
    assert "line 5: no transaction in column transaction_id" in message
    first = capsys.readouterr().out
    assert f"{sale.transaction_id}-1 recorded" in first and "1 of 4 chargebacks recorded" in first
    with pytest.raises(CommandError):
        call_command("import_chargebacks", str(report))
    again = capsys.readouterr().out
    assert "already recorded (nothing changed)" in again and "0 of 4 chargebacks recorded" in again
    assert "1 already recorded before" in again
    assert Transaction.objects.filter(transaction_type="chargeback").count() == 1


def test_import_chargebacks_names_a_bad_amount_for_people(world, tmp_path):
    sale = paid(world, customer="C1006", amount="999.00", invoice="INV-5008", settle=True)
    report = tmp_path / "disputes.csv"
    report.write_text(f"transaction_id,amount,date,reason\n{sale.transaction_id},12.5O,2026-11-20,typo\n")
    with pytest.raises(CommandError) as failure:
        call_command("import_chargebacks", str(report))
    assert "line 2: bad amount in column amount: '12.5O' is not a number (write it like 100.00" in str(
        failure.value
    )
    assert "<class" not in str(failure.value)


def test_reconcile_over_the_sandboxes_books_fees_and_shows_each_planted_difference(world, capsys):
    from integrations.paytrace.types import Card

    paid(world, settle=True)
    amex = Card(number="371449635392376", expiration_month=12, expiration_year=2030, csc="1234")
    world["client"].sale(amount=D("180.00"), source=amex)  # keyed, no vault customer: no ERP customer
    world["client"].settle()
    call_command("reconcile")
    assert "awaiting the ERP" in capsys.readouterr().out
    postings_post_due(time_budget_seconds=30)  # the vault sale's receipt posts; the keyed one is dead
    call_command("reconcile")
    visa, keyed = SettlementBatch.objects.order_by("batch_number")
    assert (visa.status, keyed.status) == ("reconciled", "exceptions")
    assert visa.fee_amount == D("31.35")  # 2.5 % of 1250.00 + 0.10
    kinds = dict(ReconciliationException.objects.values_list("kind", "status"))
    assert kinds == {"missing_in_erp": "open", "fee_mismatch": "open"}
    fee = ReconciliationException.objects.get(kind="fee_mismatch")
    assert (fee.expected_amount, fee.reported_amount) == (D("6.45"), D("7.26"))
    postings_post_due(time_budget_seconds=30)
    journals = ErpPosting.objects.filter(document_type="journal_entry", journal_entry__settlement_batch=visa)
    assert sorted(journals.values_list("status", flat=True)) == ["posted", "posted"], [
        p.last_error for p in journals
    ]


def test_batch_settled_webhook_imports_the_batch(world, client):
    sale = paid(world, customer="C1003", amount="4500.00", invoice="")
    number = world["client"].settle().batch_number
    response, _ = webhook_deliver(client, event("evt_batch_1", "batch.settled", "", batchNumber=number))
    assert response.status_code == 202
    inbox.webhook_events_drain(time_budget_seconds=30, client=world["client"])
    batch = SettlementBatch.objects.get(batch_number=str(number))
    sale.refresh_from_db()
    assert sale.settlement_batch == batch and sale.status == "settled"
    assert batch.net_amount == D("4500.00")


def test_a_refund_finance_starts_is_not_held_by_the_rules_its_own_timing_trips(world):
    from payments.models import RiskAssessment, RiskPolicy

    RiskPolicy.objects.update_or_create(pk=1, defaults={"flag_threshold": 30})
    sale = paid(world, customer="C1002", amount="40.00", invoice="", settle=True)
    RiskAssessment.objects.filter(transaction=sale).update(status="cleared")  # the sale itself passed review
    ErpPosting.objects.filter(transaction=sale).update(status="posted", erp_document_number="CA-1")
    user = UserFactory()
    refund = transaction_refund_start(
        transaction=sale, amount=D("10.00"), reason="price correction", actor=user
    )
    assessment = RiskAssessment.objects.get(transaction=refund)
    assert "refund_after_sale" in {reason["code"] for reason in assessment.reasons}
    assert (assessment.status, assessment.decided_by) == ("approved", user)
    assert ErpPosting.objects.get(transaction=refund, document_type="credit_memo").status == "pending"


def test_a_refund_of_a_sale_still_under_review_stays_held_with_it(world):
    from payments.models import RiskAssessment, RiskPolicy

    RiskPolicy.objects.update_or_create(pk=1, defaults={"flag_threshold": 30})
    sale = paid(world, customer="C1002", amount="40.00", invoice="", settle=True)
    RiskAssessment.objects.filter(transaction=sale).update(status="flagged")
    refund = transaction_refund_start(
        transaction=sale, amount=D("10.00"), reason="correction", actor=UserFactory()
    )
    assert ErpPosting.objects.get(transaction=refund, document_type="credit_memo").status == "held"
