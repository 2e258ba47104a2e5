"""The outbox against each ERP's sandbox over real HTTP: every document type, faults, exactly once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import Alert, ErpPosting, ErpPostingAttempt, PaymentMethodMapping
from integrations.outbox.poster import (
    ANSWERING_RETRY,
    STALE_CLAIM,
    postings_claim,
    postings_post,
    postings_post_due,
)
from integrations.outbox.services import posting_replay
from integrations.sage.registry import connector_for
from payments.erp.documents import receipt_build
from payments.models import Transaction
from payments.services.postings import postings_plan_for_transaction
from simulators.models import FaultProfile
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db(transaction=True)
ERPS = ["sage_300", "sage_x3", "sage_pro"]
Status = ErpPosting.Status


@pytest.fixture(params=ERPS)
def erp(request, demo_world):
    connections = demo_world["connections"]
    erp = connections[request.param]
    erp.options = {**erp.options, "timeout": 1.5}
    erp.save()
    paytrace = connections["paytrace"]
    paytrace.options = {**paytrace.options, "erp_connection": erp.name}
    paytrace.save()
    return erp


def payment(erp, customer_number="C1001", amount="1250.00", invoice="INV-5001", **fields) -> Transaction:
    from customers.models import CustomerLink

    paytrace = erp.__class__.objects.get(system="paytrace")
    customer = CustomerLink.objects.get(connection=paytrace, external_id=customer_number).customer
    return TransactionFactory(
        connection=paytrace, customer=customer, amount=Decimal(amount), invoice_reference=invoice, **fields
    )


def post_until_settled(rounds: int = 4):
    for _ in range(rounds):
        ErpPosting.objects.filter(status=Status.RETRYABLE).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        postings_post_due(time_budget_seconds=30)


def test_receipt_is_posted_once_and_applied_to_the_invoice(erp):
    txn = payment(erp)
    (posting,) = postings_plan_for_transaction(transaction=txn)
    assert postings_plan_for_transaction(transaction=txn) == [posting]  # planning is idempotent
    summary = postings_post_due(time_budget_seconds=30)
    posting.refresh_from_db()
    assert posting.status == Status.POSTED, posting.last_error
    assert posting.erp_document_number
    assert summary.posted == 1
    connector = connector_for(erp)
    assert connector.invoice_get(number="INV-5001").balance == Decimal("0.00")
    found = connector.document_find(document_type="receipt", reference=txn.transaction_id)
    assert found is not None and found.number == posting.erp_document_number


def test_overpayment_leaves_the_remainder_on_account(erp):
    txn = payment(erp, customer_number="C1003", amount="4500.00", invoice="")
    postings_plan_for_transaction(transaction=txn)
    postings_post_due(time_budget_seconds=30)
    assert ErpPosting.objects.get().status == Status.POSTED, ErpPosting.objects.get().last_error
    connector = connector_for(erp)
    assert connector.invoice_get(number="INV-5004").balance == Decimal("0.00")
    assert connector.invoice_get(number="INV-5005").balance == Decimal("0.00")
    assert txn.allocations.count() == 2


def test_credit_memo_for_a_refund(erp):
    sale = payment(erp, status="settled")
    refund = TransactionFactory(
        connection=sale.connection,
        transaction_type="refund",
        original=sale,
        customer=sale.customer,
        amount=Decimal("200.00"),
        status="approved",
    )
    (posting,) = postings_plan_for_transaction(transaction=refund)
    assert posting.document_type == "credit_memo"
    postings_post_due(time_budget_seconds=30)
    posting.refresh_from_db()
    assert posting.status == Status.POSTED, posting.last_error
    refund.credit_memo.refresh_from_db()
    assert refund.credit_memo.erp_document_number == posting.erp_document_number


def test_void_after_posting_reverses_the_receipt_and_before_posting_cancels_it(erp):
    posted = payment(erp)
    postings_plan_for_transaction(transaction=posted)
    postings_post_due(time_budget_seconds=30)
    Transaction.objects.filter(pk=posted.pk).update(status="voided")
    posted.refresh_from_db()
    (reversal,) = postings_plan_for_transaction(transaction=posted)
    assert reversal.document_type == "reversal"
    postings_post_due(time_budget_seconds=30)
    reversal.refresh_from_db()
    assert reversal.status == Status.POSTED, reversal.last_error
    assert connector_for(erp).invoice_get(number="INV-5001").balance == Decimal("1250.00")

    unposted = payment(erp, customer_number="C1004", amount="100.00", invoice="")
    (receipt,) = postings_plan_for_transaction(transaction=unposted)
    Transaction.objects.filter(pk=unposted.pk).update(status="voided")
    unposted.refresh_from_db()
    postings_plan_for_transaction(transaction=unposted)
    receipt.refresh_from_db()
    assert receipt.status == Status.CANCELLED


def test_chargeback_posts_the_journal_entry_the_gl_rules_say(erp):
    sale = payment(erp, status="settled")
    chargeback = TransactionFactory(
        connection=sale.connection,
        transaction_type="chargeback",
        original=sale,
        amount=sale.amount,
        status="settled",
    )
    (posting,) = postings_plan_for_transaction(transaction=chargeback)
    postings_post_due(time_budget_seconds=30)
    posting.refresh_from_db()
    assert posting.status == Status.POSTED, posting.last_error
    lines = list(posting.journal_entry.lines.order_by("line_number").values_list("debit", "credit"))
    assert lines == [(sale.amount, Decimal("0")), (Decimal("0"), sale.amount)]


def test_transient_fault_is_retried_to_success(erp):
    txn = payment(erp)
    postings_plan_for_transaction(transaction=txn)  # reads the invoices from the ERP: before the fault
    FaultProfile.objects.create(system=erp.system, error_next=1)
    postings_post_due(time_budget_seconds=30)
    posting = ErpPosting.objects.get()
    assert posting.status == Status.RETRYABLE
    assert posting.next_attempt_at > timezone.now()
    post_until_settled()
    posting.refresh_from_db()
    assert posting.status == Status.POSTED
    outcomes = list(posting.attempts.values_list("outcome", flat=True))
    assert outcomes[0] == "transient" and outcomes[-1] == "posted"


def test_applied_but_timed_out_is_retried_without_a_duplicate(erp):
    txn = payment(erp)
    postings_plan_for_transaction(transaction=txn)  # reads the invoices from the ERP: before the fault
    FaultProfile.objects.create(system=erp.system, applied_timeout_next=1, hang_seconds=3)
    postings_post_due(time_budget_seconds=30)
    posting = ErpPosting.objects.get()
    assert posting.status == Status.RETRYABLE
    post_until_settled()
    posting.refresh_from_db()
    assert posting.status == Status.POSTED
    assert posting.attempts.last().outcome == ErpPostingAttempt.Outcome.FOUND_EXISTING
    # Paid once: a duplicate receipt would have been refused or left the invoice over-applied.
    assert connector_for(erp).invoice_get(number="INV-5001").balance == Decimal("0.00")


def test_a_stale_claim_the_erp_took_before_its_worker_died_is_found_not_posted_again(erp):
    # The worker (killed by its task timeout, say) sent the receipt but recorded nothing: no attempt.
    txn = payment(erp, customer_number="C1004", amount="100.00", invoice="")
    (posting,) = postings_plan_for_transaction(transaction=txn)
    assert postings_claim(now=timezone.now() - STALE_CLAIM - timedelta(minutes=1)) == [posting.pk]
    connector = connector_for(erp)
    connector.receipts_post(receipts=[receipt_build(posting=posting, connector=connector)])
    postings_post_due(time_budget_seconds=30)
    posting.refresh_from_db()
    assert posting.status == Status.POSTED, posting.last_error
    assert connector.invoice_get(number="INV-5006").balance == Decimal("680.25")  # applied once
    assert posting.attempts.get().outcome == ErpPostingAttempt.Outcome.FOUND_EXISTING


def test_erp_refusal_is_a_dead_letter_with_the_erps_message_and_an_alert(erp):
    from customers.models import CustomerLink

    txn = payment(erp)
    CustomerLink.objects.filter(customer=txn.customer, connection=erp).update(external_id="NOSUCH")
    postings_plan_for_transaction(transaction=txn)
    postings_post_due(time_budget_seconds=30)
    posting = ErpPosting.objects.get()
    assert posting.status == Status.DEAD
    assert "NOSUCH" in posting.last_error or posting.last_error_code, posting.last_error
    assert posting.attempts.get().outcome == "permanent"
    assert Alert.objects.filter(subject_type="erpposting", subject_id=str(posting.pk)).exists()


def test_missing_mapping_is_a_dead_letter_naming_the_row_and_replay_posts_it(erp):
    removed = PaymentMethodMapping.objects.get(
        erp=erp.system, payment_method="card", card_brand="", currency=""
    )
    code, bank = removed.erp_payment_code, removed.bank_code
    removed.delete()
    txn = payment(erp)
    postings_plan_for_transaction(transaction=txn)
    postings_post_due(time_budget_seconds=30)
    posting = ErpPosting.objects.get()
    assert posting.status == Status.DEAD
    assert posting.last_error_code == "MappingMissing"
    assert f"No payment method mapping for {erp.system} / card" in posting.last_error

    PaymentMethodMapping.objects.create(
        erp=erp.system, payment_method="card", erp_payment_code=code, bank_code=bank
    )
    posting_replay(posting=posting, reason="mapping added")
    postings_post_due(time_budget_seconds=30)
    posting.refresh_from_db()
    assert posting.status == Status.POSTED, posting.last_error


def test_receipts_are_batched_to_save_erp_calls(erp):
    customers = ["C1001", "C1002", "C1003", "C1004", "C1005"]
    for index in range(10):
        txn = payment(erp, customer_number=customers[index % 5], amount="1.00", invoice="")
        postings_plan_for_transaction(transaction=txn)
    summary = postings_post_due(time_budget_seconds=60)
    assert summary.posted == 10
    assert summary.erp_calls <= 10 * 1.1


def test_replay_command_and_post_pending_command(erp, capsys):
    PaymentMethodMapping.objects.filter(erp=erp.system).delete()
    postings_plan_for_transaction(transaction=payment(erp))
    call_command("post_pending")
    assert "dead letters 1" in capsys.readouterr().out
    call_command("replay_dead_letters", reason="retry after fix", error_code="MappingMissing")
    assert ErpPosting.objects.get().status == Status.PENDING


def test_the_erp_document_number_is_shown_on_the_transaction_in_the_admin(erp, admin_client):
    txn = payment(erp)
    postings_plan_for_transaction(transaction=txn)
    postings_post_due(time_budget_seconds=30)
    number = ErpPosting.objects.get().erp_document_number
    page = admin_client.get("/admin/payments/transaction/").content.decode()
    assert number in page
    detail = admin_client.get(f"/admin/payments/transaction/{txn.pk}/change/").content.decode()
    assert number in detail


def test_a_poster_waiting_for_what_comes_due_takes_up_a_retry_when_its_backoff_ends(erp):
    txn = payment(erp)
    postings_plan_for_transaction(transaction=txn)
    FaultProfile.objects.create(system=erp.system, error_next=1)
    postings_post_due(time_budget_seconds=30)
    posting = ErpPosting.objects.get()
    assert posting.status == Status.RETRYABLE
    ErpPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=2))

    postings_post_due(time_budget_seconds=10)  # nothing due now: it ends
    posting.refresh_from_db()
    assert posting.status == Status.RETRYABLE
    postings_post_due(time_budget_seconds=10, wait_for_coming=True)  # waits the 2 s, not the next run
    posting.refresh_from_db()
    assert posting.status == Status.POSTED


def test_an_erp_that_takes_a_document_has_its_long_waiting_retries_brought_forward(erp):
    first, second = payment(erp, amount="10.00"), payment(erp, amount="20.00", invoice="")
    (waiting,) = postings_plan_for_transaction(transaction=first)
    far = timezone.now() + timedelta(hours=1)  # backoff's later steps, meant for an ERP that is down
    ErpPosting.objects.filter(pk=waiting.pk).update(
        status=Status.RETRYABLE, attempt_count=5, next_attempt_at=far
    )
    postings_plan_for_transaction(transaction=second)

    assert postings_post_due(time_budget_seconds=30).posted == 1  # the ERP is up: it took the second
    waiting.refresh_from_db()
    assert waiting.status == Status.RETRYABLE
    assert waiting.next_attempt_at <= timezone.now() + ANSWERING_RETRY


def _plan_on_account(erp, count: int) -> None:
    customers = ["C1001", "C1002", "C1003", "C1004", "C1005"]
    for index in range(count):
        txn = payment(erp, customer_number=customers[index % 5], amount="1.00", invoice="")
        postings_plan_for_transaction(transaction=txn)


def _statements_posting(count: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids = postings_claim()
    assert len(ids) == count
    with CaptureQueriesContext(connection) as captured:
        summary = postings_post(posting_ids=ids)
    assert summary.posted == count
    return len(captured)


def test_a_receipt_batch_costs_about_one_statement_a_receipt_whatever_its_size(erp):
    # The mappings and customer links are read once per batch, the outcome written once per batch: a
    # receipt adds only the read of its own allocations (it was ~13 statements a receipt, one by one).
    _plan_on_account(erp, 4)
    four = _statements_posting(4)
    _plan_on_account(erp, 16)
    sixteen = _statements_posting(16)
    assert sixteen - four <= 12 * 1.5, (four, sixteen)
    posted = ErpPosting.objects.filter(status=Status.POSTED)
    assert posted.count() == 20
    assert not posted.filter(erp_document_number="").exists()
    assert set(posted.values_list("attempt_count", flat=True)) == {1}
    attempts = list(ErpPostingAttempt.objects.filter(outcome="posted"))
    assert len(attempts) == 20
    # A batch's calls are recorded once, on its first attempt; the others name that posting.
    recorded = {a.posting.reference for a in attempts if a.request["calls"]}
    assert len(recorded) == 2
    assert {a.request.get("batch_calls_recorded_on") for a in attempts if not a.request["calls"]} == recorded
    assert all(a.response["calls"] for a in attempts if a.posting.reference in recorded)


def test_a_batch_whose_posting_was_taken_meanwhile_records_the_others_one_by_one(erp, monkeypatch):
    from integrations.sage.connector import ErpConnector
    from portal.lifecycle import StaleTransition

    _plan_on_account(erp, 3)
    ids = postings_claim()
    taken = max(ids)
    send = ErpConnector.receipts_post

    def send_then_lose_one(self, *, receipts):
        results = send(self, receipts=receipts)
        # Cancelled by hand while its batch was at the ERP: the batch's one UPDATE would not move it.
        ErpPosting.objects.filter(pk=taken).update(status=Status.CANCELLED)
        return results

    monkeypatch.setattr(ErpConnector, "receipts_post", send_then_lose_one)
    with pytest.raises(StaleTransition):
        postings_post(posting_ids=ids)
    others = ErpPosting.objects.exclude(pk=taken)
    assert set(others.values_list("status", flat=True)) == {Status.POSTED}
    assert not others.filter(erp_document_number="").exists()
    assert ErpPostingAttempt.objects.filter(posting__in=others).count() == 2
    assert not ErpPostingAttempt.objects.filter(posting_id=taken).exists()


def test_a_posted_receipt_releases_the_dependents_its_dead_letter_held(erp):
    from integrations.outbox.dependencies import PREREQUISITE_DEAD

    _plan_on_account(erp, 2)
    receipts = list(ErpPosting.objects.order_by("pk"))
    held = ErpPosting.objects.create(
        connection=erp,
        document_type=ErpPosting.DocumentType.CREDIT_MEMO,
        reference="R-held",
        status=Status.HELD,
        last_error_code=PREREQUISITE_DEAD,
        depends_on=receipts[1],
        transaction=receipts[1].transaction,
    )
    postings_post(posting_ids=postings_claim(limit=2))
    held.refresh_from_db()
    assert held.status == Status.PENDING and held.last_error_code == ""
