"""Confirmations name what is decided, in words: the amount, the customer, the account and the reason,
never a bare id ("12: 100 (flagged)", "7 ~ 8"), never cut mid-sentence; and the message afterwards says what
was done ("1 risk assessment approved …"), never "1 row(s)", with doing nothing a warning."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages

from integrations.models import ErpPosting, GLAccountRule
from payments.models import ReconciliationException, RiskAssessment
from tests.factories import (
    ConnectionFactory,
    CustomerFactory,
    ErpPostingFactory,
    SettlementBatchFactory,
    TransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
REASON = "Batch 77 fees are 0.81 higher than the GL rules give for Visa; the processor's fee table changed."


@pytest.fixture
def root(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


def shown(response) -> list[tuple[str, str]]:
    """The messages, lower-cased: a model's label may be capitalised ("ERP posting") by the navigation."""
    return [(message.level_tag, message.message.lower()) for message in get_messages(response.wsgi_request)]


def test_the_write_off_page_shows_amount_account_and_the_whole_reason(root):
    ConnectionFactory(system="sage_300", name="Sage 300")
    paytrace = ConnectionFactory(system="paytrace", options={"erp_connection": "Sage 300"})
    GLAccountRule.objects.create(erp="sage_300", purpose="write_off", account="6900")
    batch = SettlementBatchFactory(connection=paytrace, batch_number="77")
    exception = ReconciliationException.objects.create(
        kind="fee_mismatch", reason=REASON, difference=Decimal("0.81"), settlement_batch=batch, dedup_key="k"
    )

    page = root.post(
        "/admin/payments/reconciliationexception/",
        {"action": "write_off_exceptions", ACTION_CHECKBOX_NAME: [exception.pk]},
    ).content.decode()

    assert "writes off USD 0.81 to account 6900 in Sage 300" in page
    assert REASON.replace("'", "&#x27;") in page  # whole, not cut at 60 characters
    assert "Fees differ from the rules: USD 0.81 on Batch 77" in page


def test_a_write_off_without_an_account_says_so_before_anything_is_done(root):
    paytrace = ConnectionFactory(system="paytrace", options={"erp_connection": "Sage 300"})
    ConnectionFactory(system="sage_300", name="Sage 300")
    exception = ReconciliationException.objects.create(
        kind="fee_mismatch",
        reason="fees",
        difference=Decimal("0.81"),
        settlement_batch=SettlementBatchFactory(connection=paytrace),
        dedup_key="k",
    )
    page = root.post(
        "/admin/payments/reconciliationexception/",
        {"action": "write_off_exceptions", ACTION_CHECKBOX_NAME: [exception.pk]},
    ).content.decode()
    assert "cannot be written off yet" in page and "write_off" in page


def test_a_flagged_payment_is_named_by_amount_customer_and_score(root):
    sale = TransactionFactory(
        transaction_id="9001", amount=Decimal("1250.00"), customer=CustomerFactory(name="Jane Doe", email="")
    )
    assessment = RiskAssessment.objects.create(transaction=sale, score=85, status="flagged")
    assert str(assessment) == "Sale 9001 of USD 1250.00 from Jane Doe: score 85, flagged for review"

    page = root.post(
        "/admin/payments/riskassessment/", {"action": "approve", ACTION_CHECKBOX_NAME: [assessment.pk]}
    ).content.decode()
    assert "Sale 9001 of USD 1250.00 from Jane Doe: score 85, flagged for review" in page


def test_postings_are_named_with_their_state_and_erp_number():
    posting = ErpPostingFactory(reference="PT-6", status="posted", erp_document_number="CA2-1")
    assert str(posting) == "Receipt PT-6 (posted, ERP number CA2-1)"
    assert (
        str(ErpPostingFactory(reference="PT-7", status=ErpPosting.Status.DEAD))
        == "Receipt PT-7 (dead letter)"
    )


def test_nothing_done_is_a_warning_and_never_says_rows(root):
    posting = ErpPostingFactory(status="posted", erp_document_number="CA2-1")
    done = root.post(
        "/admin/integrations/erpposting/",
        {
            "action": "replay_dead_letters",
            ACTION_CHECKBOX_NAME: [posting.pk],
            "confirmed": "yes",
            "reason": "retry",
        },
    )
    assert shown(done) == [
        ("warning", "nothing was sent back to be posted: none of the 1 erp posting selected could be.")
    ]


def test_done_says_what_in_words(root):
    posting = ErpPostingFactory(status="dead")
    done = root.post(
        "/admin/integrations/erpposting/",
        {
            "action": "replay_dead_letters",
            ACTION_CHECKBOX_NAME: [posting.pk],
            "confirmed": "yes",
            "reason": "mapping fixed",
        },
    )
    assert shown(done) == [("success", "1 erp posting sent back to be posted.")]


def test_the_replay_page_shows_what_the_erp_said(root):
    posting = ErpPostingFactory(
        reference="PT-8",
        status="dead",
        last_error="[MappingMissing] No status mapping for sage_300 / settled.",
    )
    page = root.post(
        "/admin/integrations/erpposting/",
        {"action": "replay_dead_letters", ACTION_CHECKBOX_NAME: [posting.pk]},
    ).content.decode()
    assert "Receipt PT-8 (dead letter) — [MappingMissing] No status mapping for sage_300 / settled." in page


def test_the_refund_page_names_amount_customer_invoice_and_card(root):
    sale = TransactionFactory(
        transaction_id="9002",
        amount=Decimal("480.00"),
        invoice_reference="INV-5006",
        card_brand="VISA",
        last4="5439",
        customer=CustomerFactory(name="Jane Doe", email=""),
    )

    page = root.post(
        "/admin/payments/transaction/", {"action": "refund_or_void", ACTION_CHECKBOX_NAME: [sale.pk]}
    ).content.decode()
    assert "Sale 9002: 480.00 USD from Jane Doe, for invoice INV-5006, card VISA ending 5439" in page
