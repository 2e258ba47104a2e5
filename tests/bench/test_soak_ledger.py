"""The soak's verdict (bench/soak_ledger.py): what counts as lost, duplicated, explained or not. The soak is
the instrument the reliability fixes are proven with, so its rules are tested on their own, without
services."""

from decimal import Decimal

from bench.soak_ledger import (
    APPROVED,
    CREDIT_MEMO,
    DECLINED,
    IN_FLIGHT_LEFT,
    LOST,
    NEVER_PLANNED,
    RECEIPT,
    REFUND,
    REVERSAL,
    SALE,
    VOID_CANCELLED,
    VOIDED,
    WRONG_CUSTOMER,
    ErpDocument,
    PayTraceFact,
    Posting,
    ledger_build,
)

D = Decimal


def sale(transaction_id="100", amount="50.00", customer="C1001", outcome=APPROVED):
    return PayTraceFact(transaction_id, SALE, outcome, D(amount), customer)


def refund(transaction_id="200", amount="20.00", original="100", customer="C1001"):
    return PayTraceFact(transaction_id, REFUND, APPROVED, D(amount), customer, original_id=original)


def receipt(reference="100", amount="50.00", customer="C1001", posted=True, currency=""):
    return ErpDocument(RECEIPT, reference, customer, D(amount), posted, currency)


def credit(reference="200", amount="-20.00", customer="C1001", currency=""):
    return ErpDocument(CREDIT_MEMO, reference, customer, D(amount), True, currency)


def reversal(reference="100-V", amount="-50.00", customer="C1001"):
    return ErpDocument(REVERSAL, reference, customer, D(amount))


def build(facts, postings=(), documents=(), recorded=None, rates=None):
    recorded = {fact.transaction_id for fact in facts} if recorded is None else recorded
    return ledger_build(
        facts=list(facts), recorded=recorded, postings=list(postings), documents=list(documents), rates=rates
    )


def test_a_sale_and_its_refund_both_in_the_erp_balance():
    ledger = build(
        [sale(), refund()],
        [Posting(RECEIPT, "100", "posted"), Posting(CREDIT_MEMO, "200", "posted")],
        [receipt(), credit()],
    )

    (row,) = ledger.rows
    assert (row.paytrace_net, row.erp_net, row.unexplained) == (D("30.00"), D("30.00"), D("0"))
    assert not ledger.failed


def test_a_transaction_missing_from_our_table_is_lost():
    ledger = build([sale()], documents=[], recorded=set())

    assert [fact.transaction_id for fact in ledger.lost] == ["100"]
    assert [finding.what for finding in ledger.findings] == [LOST]
    assert ledger.failed


def test_our_reference_on_two_documents_is_a_duplicate_even_when_one_was_never_posted():
    ledger = build([sale()], [Posting(RECEIPT, "100", "posted")], [receipt(), receipt(posted=False)])

    assert ledger.duplicate_documents == 1
    assert ledger.failed


def test_a_dead_receipt_explains_its_sale_missing_from_the_erp():
    ledger = build([sale()], [Posting(RECEIPT, "100", "dead", "[FieldInvalid] currency")], [])

    (row,) = ledger.rows
    assert (row.difference, row.dead_count, row.dead_amount, row.unexplained) == (
        D("50.00"),
        1,
        D("50.00"),
        0,
    )
    assert [posting.reason for posting in ledger.dead_letters] == ["[FieldInvalid] currency"]
    assert not ledger.failed


def test_a_held_receipt_explains_its_sale_missing_from_the_erp():
    ledger = build([sale()], [Posting(RECEIPT, "100", "held")], [])

    (row,) = ledger.rows
    assert (row.held_count, row.held_amount, row.unexplained) == (1, D("50.00"), 0)
    assert len(ledger.held) == 1
    assert not ledger.failed


def test_a_credit_note_held_behind_its_dead_receipt_is_explained_by_that_dead_letter():
    dead = Posting(RECEIPT, "100", "dead", "[FieldInvalid] currency")
    held = Posting(CREDIT_MEMO, "200", "held", "[PrerequisiteDead] waits", waits_for="100")
    ledger = build([sale(), refund()], [dead, held], [])

    (row,) = ledger.rows
    assert (row.dead_amount, row.held_amount, row.unexplained) == (D("50.00"), D("-20.00"), 0)
    assert ledger.held_behind_dead == [held] and ledger.held == []
    assert not ledger.failed


def test_a_credit_note_held_behind_a_receipt_that_is_not_dead_explains_nothing():
    held = Posting(CREDIT_MEMO, "200", "held", "[PrerequisiteDead] waits", waits_for="100")
    ledger = build([sale(), refund()], [Posting(RECEIPT, "100", "posted"), held], [receipt()])

    assert [finding.transaction_id for finding in ledger.findings] == ["200"]
    assert ledger.held_behind_dead == [] and ledger.failed


def test_a_void_that_cancelled_a_receipt_the_erp_has_is_named_and_fails():
    ledger = build([sale(outcome=VOIDED)], [Posting(RECEIPT, "100", "cancelled")], [receipt()])

    assert [finding.what for finding in ledger.findings] == [VOID_CANCELLED]
    assert ledger.rows[0].unexplained == D("-50.00")
    assert ledger.failed


def test_a_voided_sale_is_square_with_its_receipt_and_reversal_or_with_neither():
    reversed_in_erp = build(
        [sale(outcome=VOIDED)],
        [Posting(RECEIPT, "100", "posted"), Posting(REVERSAL, "100-V", "posted")],
        [receipt(), reversal()],
    )
    cancelled_in_time = build([sale(outcome=VOIDED)], [Posting(RECEIPT, "100", "cancelled")], [])

    assert not reversed_in_erp.failed
    assert not cancelled_in_time.failed


def test_a_dead_reversal_explains_the_difference_but_fails_while_its_receipt_is_in_the_erp():
    ledger = build(
        [sale(outcome=VOIDED)],
        [
            Posting(RECEIPT, "100", "posted"),
            Posting(REVERSAL, "100-V", "dead", "[RecordNotFound] not in Sage"),
        ],
        [receipt()],
    )

    assert ledger.rows[0].unexplained == 0
    assert ledger.rows[0].dead_count == 1
    assert [finding.transaction_id for finding in ledger.dead_needlessly] == ["100"]
    assert ledger.failed


def test_a_credit_note_posted_while_its_receipt_is_dead_is_out_of_order():
    ledger = build(
        [sale(), refund()],
        [Posting(RECEIPT, "100", "dead", "refused"), Posting(CREDIT_MEMO, "200", "posted")],
        [credit()],
    )

    assert ledger.rows[0].unexplained == 0  # the dead receipt explains the money
    assert [finding.detail for finding in ledger.orphans] == ["credit note 200, receipt 100"]
    assert ledger.failed


def test_a_recorded_transaction_without_any_posting_was_never_planned():
    ledger = build([sale()], [], [])

    assert [finding.what for finding in ledger.findings] == [NEVER_PLANNED]


def test_a_posting_still_in_flight_is_not_taken_for_a_defect():
    ledger = build([sale()], [Posting(RECEIPT, "100", "retryable")], [])

    assert [finding.what for finding in ledger.findings] == [IN_FLIGHT_LEFT]


def test_documents_in_another_currency_are_compared_at_the_portal_rate_within_a_cent():
    # 50.00 USD booked as 68.49 CAD at 0.73: 68.49 x 0.73 = 49.9977, a cent off once rounded back.
    ledger = build(
        [sale()],
        [Posting(RECEIPT, "100", "posted")],
        [receipt(amount="68.49", currency="CAD")],
        rates={"CAD": D("0.73")},
    )

    assert ledger.rows[0].erp_net == D("50.00")
    assert not ledger.failed


def test_a_document_far_from_the_converted_amount_is_unexplained():
    ledger = build(
        [sale()],
        [Posting(RECEIPT, "100", "posted")],
        [receipt(amount="50.00", currency="CAD")],
        rates={"CAD": D("0.73")},
    )

    assert ledger.rows[0].unexplained == D("13.50")
    assert ledger.failed


def test_a_receipt_under_another_customer_is_named():
    ledger = build([sale()], [Posting(RECEIPT, "100", "posted")], [receipt(customer="C1002")])

    assert [finding.what for finding in ledger.findings] == [WRONG_CUSTOMER]
    assert {row.customer: row.unexplained for row in ledger.rows} == {
        "C1001": D("50.00"),
        "C1002": D("-50.00"),
    }


def test_a_declined_sale_expects_nothing_in_the_erp():
    quiet = build([sale(outcome=DECLINED)], [], [])
    booked = build([sale(outcome=DECLINED)], [Posting(RECEIPT, "100", "posted")], [receipt()])

    assert not quiet.failed
    assert booked.failed


def test_documents_that_are_not_ours_are_left_out():
    ledger = build(
        [sale()], [Posting(RECEIPT, "100", "posted")], [receipt(), receipt(reference="CHK-SEED-1")]
    )

    assert ledger.rows[0].erp_net == D("50.00")
    assert ledger.duplicate_documents == 0
    assert not ledger.failed
