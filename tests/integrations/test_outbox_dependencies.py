"""Voids, reversals and credit notes against each ERP's sandbox over real HTTP: a document that undoes or
offsets a receipt never reaches the ERP before (or without) that receipt, and a void never leaves in the
ERP a receipt it cancelled on our side."""

from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import ErpPosting, ErpPostingAttempt, PaymentMethodMapping
from integrations.outbox.dependencies import PREREQUISITE_DEAD
from integrations.outbox.poster import postings_claim, postings_post, postings_post_due
from integrations.outbox.services import posting_replay
from integrations.sage.registry import connector_for
from payments.models import Transaction
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
