"""Voids, reversals and credit notes against each ERP's sandbox over real HTTP: a document that undoes or
offsets a receipt never reaches the ERP before (or without) that receipt, and a void never leaves in the
ERP a receipt it cancelled on our side."""

import threading
from decimal import Decimal

import pytest
from django import db
from django.utils import timezone

from integrations.models import ErpPosting, ErpPostingAttempt, PaymentMethodMapping
from integrations.outbox.dependencies import PREREQUISITE_DEAD
from integrations.outbox.poster import postings_claim, postings_post, postings_post_due
from integrations.outbox.services import posting_replay
from integrations.sage.registry import connector_for
from payments.models import Transaction
from payments.services import postings as postings_module
from payments.services.postings import postings_plan_for_transaction
from simulators.models import FaultProfile
from tests.factories import TransactionFactory
from tests.integrations import test_outbox
from tests.integrations.test_outbox import payment, post_until_settled

pytestmark = pytest.mark.django_db(transaction=True)
erp = test_outbox.erp  # each test runs against each ERP's sandbox
Status = ErpPosting.Status


def void(txn: Transaction) -> list[ErpPosting]:
    Transaction.objects.filter(pk=txn.pk).update(status="voided")
    txn.refresh_from_db()
    return postings_plan_for_transaction(transaction=txn)


def refund_of(sale: Transaction, amount: str = "200.00") -> Transaction:
    return TransactionFactory(
        connection=sale.connection,
        transaction_type="refund",
        original=sale,
        customer=sale.customer,
        amount=Decimal(amount),
        status="approved",
    )


def test_a_void_after_an_applied_but_timed_out_receipt_reverses_what_the_erp_holds(erp):
    FaultProfile.objects.create(system=erp.system, applied_timeout_next=1, hang_seconds=3)
    txn = payment(erp)
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    postings_post_due(time_budget_seconds=30)
    receipt.refresh_from_db()
    assert receipt.status == Status.RETRYABLE  # the ERP took it, but we never heard back

    (reversal,) = void(txn)
    assert reversal.document_type == "reversal" and reversal.depends_on_id == receipt.pk
    receipt.refresh_from_db()
    assert receipt.status == Status.RETRYABLE and receipt.next_attempt_at <= timezone.now()  # due now

    post_until_settled()
    receipt.refresh_from_db()
    reversal.refresh_from_db()
    assert receipt.status == Status.POSTED, receipt.last_error
    assert receipt.attempts.last().outcome == ErpPostingAttempt.Outcome.FOUND_EXISTING
    assert reversal.status == Status.POSTED, reversal.last_error
    # The money the ERP booked is given back: the invoice is open for its full amount again.
    assert connector_for(erp).invoice_get(number="INV-5001").balance == Decimal("1250.00")


def test_a_void_after_a_failed_receipt_cancels_it_and_its_reversal_when_the_erp_has_nothing(erp):
    txn = payment(erp)
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    # After planning, which reads the invoice from the ERP: the fault is for the receipt's post.
    FaultProfile.objects.create(system=erp.system, error_next=1)
    postings_post_due(time_budget_seconds=30)
    receipt.refresh_from_db()
    assert receipt.status == Status.RETRYABLE  # refused before anything was booked

    (reversal,) = void(txn)
    post_until_settled()
    receipt.refresh_from_db()
    reversal.refresh_from_db()
    assert receipt.status == Status.CANCELLED, receipt.last_error
    assert reversal.status == Status.CANCELLED, reversal.last_error  # nothing to undo: not a dead letter
    connector = connector_for(erp)
    assert connector.document_find(document_type="receipt", reference=receipt.reference) is None
    assert connector.invoice_get(number="INV-5001").balance == Decimal("1250.00")


def test_a_void_of_a_dead_receipt_looks_it_up_again_instead_of_leaving_it(erp):
    FaultProfile.objects.create(system=erp.system, applied_timeout_next=1, hang_seconds=3)
    txn = payment(erp)
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    postings_post_due(time_budget_seconds=30)
    ErpPosting.objects.filter(pk=receipt.pk).update(status=Status.DEAD, next_attempt_at=None)

    (reversal,) = void(txn)
    receipt.refresh_from_db()
    assert receipt.status == Status.PENDING  # replayed, to look our reference up
    post_until_settled()
    receipt.refresh_from_db()
    reversal.refresh_from_db()
    assert (receipt.status, reversal.status) == (Status.POSTED, Status.POSTED), reversal.last_error
    assert connector_for(erp).invoice_get(number="INV-5001").balance == Decimal("1250.00")


def test_a_reversal_planned_while_its_receipt_is_in_flight_waits_for_it(erp):
    txn = payment(erp)
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    assert postings_claim() == [receipt.pk]  # a worker has the receipt in flight

    (reversal,) = void(txn)
    assert reversal.depends_on_id == receipt.pk
    postings_post_due(time_budget_seconds=30)  # another worker: the reversal is not handed out
    reversal.refresh_from_db()
    assert (reversal.status, reversal.attempt_count) == (Status.PENDING, 0)

    postings_post(posting_ids=[receipt.pk])  # the first worker goes on: the sale is voided by now
    postings_post_due(time_budget_seconds=30)
    receipt.refresh_from_db()
    reversal.refresh_from_db()
    assert receipt.status == Status.CANCELLED
    assert reversal.status == Status.CANCELLED, reversal.last_error
    assert not ErpPosting.objects.filter(status=Status.DEAD).exists()
    assert connector_for(erp).invoice_get(number="INV-5001").balance == Decimal("1250.00")


def test_a_refunds_credit_note_waits_for_its_sales_receipt_and_is_held_while_that_is_dead(erp):
    mapping = PaymentMethodMapping.objects.get(
        erp=erp.system, payment_method="card", card_brand="", currency=""
    )
    kept = {"erp_payment_code": mapping.erp_payment_code, "bank_code": mapping.bank_code}
    mapping.delete()  # the receipt will be a dead letter; the credit note does not need this mapping
    sale = payment(erp, status="settled")
    (receipt,) = postings_plan_for_transaction(transaction=sale)
    (memo,) = postings_plan_for_transaction(transaction=refund_of(sale))
    assert memo.depends_on_id == receipt.pk

    claimed = postings_claim()
    assert claimed == [receipt.pk]  # not sent while its receipt is unposted
    postings_post(posting_ids=claimed)
    receipt.refresh_from_db()
    memo.refresh_from_db()
    assert receipt.status == Status.DEAD
    assert (memo.status, memo.last_error_code, memo.attempt_count) == (Status.HELD, PREREQUISITE_DEAD, 0)
    assert receipt.reference in memo.last_error
    (later,) = postings_plan_for_transaction(transaction=refund_of(sale, "50.00"))
    assert later.status == Status.HELD  # planned while its receipt is dead: held at once

    postings_post_due(time_budget_seconds=30)
    connector = connector_for(erp)
    assert connector.document_find(document_type="credit_memo", reference=memo.reference) is None

    PaymentMethodMapping.objects.create(erp=erp.system, payment_method="card", **kept)
    posting_replay(posting=receipt, reason="mapping restored")
    postings_post_due(time_budget_seconds=30)  # the receipt posts, then (same drain) what waited for it
    assert set(ErpPosting.objects.values_list("status", flat=True)) == {Status.POSTED}


def _dead_receipt_setup(erp) -> tuple[Transaction, ErpPosting, list[int]]:
    """A settled sale whose receipt a worker has claimed and will make a dead letter (no payment-method
    mapping: the ERP side refuses it for good)."""
    PaymentMethodMapping.objects.filter(erp=erp.system, payment_method="card", card_brand="").delete()
    sale = payment(erp, status="settled")
    (receipt,) = postings_plan_for_transaction(transaction=sale)
    claimed = postings_claim()
    assert claimed == [receipt.pk]
    return sale, receipt, claimed


def _assert_held_behind(memo: ErpPosting, receipt: ErpPosting) -> None:
    memo.refresh_from_db()
    receipt.refresh_from_db()
    assert receipt.status == Status.DEAD
    assert (memo.status, memo.last_error_code, memo.attempt_count) == (Status.HELD, PREREQUISITE_DEAD, 0)
    assert receipt.reference in memo.last_error


def test_a_credit_note_planned_as_its_receipt_dies_is_held_behind_it(erp, monkeypatch):
    """The soak's stall: the planner read the receipt in flight, the poster made it a dead letter (and
    held its dependents, none yet), then the planner inserted the credit note as pending, behind a dead
    receipt, neither held nor ever released."""
    sale, receipt, claimed = _dead_receipt_setup(erp)
    read = postings_module._sale_receipt

    def read_then_receipt_dies(*, original):
        found = read(original=original)
        postings_post(posting_ids=claimed)  # the worker that had it claimed gets its refusal
        return found

    monkeypatch.setattr(postings_module, "_sale_receipt", read_then_receipt_dies)
    (memo,) = postings_plan_for_transaction(transaction=refund_of(sale))
    _assert_held_behind(memo, receipt)


def test_a_credit_note_inserted_while_another_worker_kills_its_receipt_is_held(erp, monkeypatch):
    """The same race across two database connections: the poster's "hold the dependents" runs while the
    planner's credit note is inserted but not committed, so it cannot see it."""
    sale, receipt, claimed = _dead_receipt_setup(erp)
    refund = refund_of(sale)
    inserted, go_on = threading.Event(), threading.Event()
    planner_thread = []

    def wake_after_a_pause() -> None:  # called by the planner after its insert, before its commit
        if threading.current_thread() in planner_thread:
            inserted.set()
            go_on.wait(timeout=30)

    monkeypatch.setattr(postings_module, "postings_wake", wake_after_a_pause)
    errors: list[BaseException] = []

    def run(target) -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - re-raised by the test below
            errors.append(error)
        finally:
            db.connection.close()

    planner = threading.Thread(target=run, args=(lambda: postings_plan_for_transaction(transaction=refund),))
    planner_thread.append(planner)
    poster = threading.Thread(target=run, args=(lambda: postings_post(posting_ids=claimed),))
    planner.start()
    assert inserted.wait(timeout=30)
    poster.start()
    poster.join(timeout=2)  # with the receipt locked by the planner, the poster waits for its commit
    go_on.set()
    planner.join(timeout=30)
    poster.join(timeout=60)
    assert not errors, errors
    memo = ErpPosting.objects.get(document_type="credit_memo", reference=refund.transaction_id)
    _assert_held_behind(memo, receipt)
