"""A payment's page tells its whole story, each section in one query; the invoice and customer pages link to
their payments; the list's decisions are buttons on the row's page, for the roles that may take them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditEvent, ErpPostingAttempt
from payments.models import Allocation, JournalEntryLine, ReconciliationException, RiskAssessment, Transaction
from portal.roles import AUDITOR, FINANCE_REVIEWER
from tests.factories import (
    CustomerFactory,
    ErpPostingFactory,
    InvoiceFactory,
    JournalEntryFactory,
    TransactionFactory,
    UserFactory,
    WebhookEventFactory,
)
from tests.staff import staff_user

pytestmark = pytest.mark.django_db
REASONS = [{"code": "new_customer_large_amount", "points": 40, "detail": "first payment, 1250.00"}]


def page_of(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def sale_with_story(*, rows: int, tag: str = "9001") -> Transaction:
    """A sale with `rows` of every related kind: applications, documents (each with an attempt and an
    audited decision), refunds, webhook deliveries and reconciliation questions."""
    customer = CustomerFactory(name="Jane Doe")
    sale = TransactionFactory(
        transaction_id=tag, amount=Decimal("1250.00"), customer=customer, status="settled"
    )
    RiskAssessment.objects.create(transaction=sale, score=85, status="flagged", reasons=REASONS)
    actor = UserFactory(username=f"reviewer-{tag}")
    for n in range(rows):
        invoice = InvoiceFactory(invoice_number=f"INV-{tag}-{n}", customer=customer)
        Allocation.objects.create(
            payment=sale, invoice=invoice, amount=Decimal("10.00"), currency="USD", rule="reference"
        )
        posting = ErpPostingFactory(
            transaction=sale, reference=f"PT-{tag}-{n}", status="posted", erp_document_number=f"CA2-{tag}-{n}"
        )
        ErpPostingAttempt.objects.create(
            posting=posting, number=1, started_at=timezone.now(), outcome="posted"
        )
        AuditEvent.objects.create(
            actor=actor,
            action="posting.replay",
            subject_type="erpposting",
            subject_id=str(posting.pk),
            reason=f"mapping fixed {tag}-{n}",
        )
        TransactionFactory(
            connection=sale.connection, transaction_type="refund", original=sale, amount=Decimal("1.00")
        )
        WebhookEventFactory(transaction=sale, event_id=f"evt_{tag}_{n}")
        ReconciliationException.objects.create(
            kind="amount_mismatch",
            transaction=sale,
            reason=f"differs {tag}-{n}",
            difference=Decimal("0.81"),
            dedup_key=f"k-{tag}-{n}",
        )
    return sale


def test_a_payment_page_tells_the_whole_story(client):
    sale = sale_with_story(rows=2)
    AuditEvent.objects.create(
        action="risk.approve", subject_type="riskassessment", subject_id=str(sale.risk.pk)
    )
    AuditEvent.objects.create(
        action="posting.replay", subject_type="erpposting", subject_id="999999"
    )  # another's
    client.force_login(staff_user(role=AUDITOR))

    response = client.get(page_of(sale))

    assert response.status_code == 200
    page = response.content.decode()
    story = response.context["story"]
    assert story.risk.score == 85 and 'class="risk-score">85<' in page
    assert "first payment, 1250.00" in page
    assert {a.invoice.invoice_number for a in story.allocations} == {"INV-9001-0", "INV-9001-1"}
    assert page_of(story.allocations[0].invoice) in page
    assert "CA2-9001-0" in page and "CA2-9001-1" in page
    assert len(story.money_back) == 2 and len(story.deliveries) == 2 and len(story.exceptions) == 2
    assert len(story.attempts) == 2
    assert "mapping fixed 9001-1" in page
    assert {event.action for event in story.audit} == {"posting.replay", "risk.approve"}
    assert len(story.audit) == 3  # the unrelated posting's replay is not in it
    # The sections' buttons are forms of their own: after the page's form, never nested in it.
    assert page.index('id="story"') > page.index("</form>", page.index('id="transaction_form"'))


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_story_costs_the_same_queries_whatever_the_number_of_rows(client):
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    small, large = sale_with_story(rows=1, tag="9001"), sale_with_story(rows=4, tag="9002")
    _queries(client, page_of(small))  # the session and the content types, read once

    assert _queries(client, page_of(large)) == _queries(client, page_of(small))


def test_the_invoice_page_lists_the_payments_applied_to_it(client):
    invoice = InvoiceFactory(invoice_number="INV-5006")
    for transaction_id in ("7001", "7002"):
        payment = TransactionFactory(transaction_id=transaction_id)
        Allocation.objects.create(
            payment=payment, invoice=invoice, amount=Decimal("25.00"), currency="USD", rule="manual"
        )
    client.force_login(staff_user(role=AUDITOR))

    page = client.get(page_of(invoice)).content.decode()  # and the session and content types read once
    few = _queries(client, page_of(invoice))

    assert "Payments applied" in page and "7001" in page and "7002" in page and "VISA …5439" in page
    Allocation.objects.create(
        payment=TransactionFactory(), invoice=invoice, amount=Decimal("1.00"), currency="USD", rule="manual"
    )
    assert _queries(client, page_of(invoice)) == few


def test_the_customer_page_lists_its_latest_invoices_and_payments(client):
    customer = CustomerFactory(name="Jane Doe")
    for n in range(12):
        InvoiceFactory(customer=customer, invoice_number=f"INV-{n:03d}")
        TransactionFactory(customer=customer, transaction_id=f"80{n:02d}")
    client.force_login(staff_user(role=AUDITOR))

    response = client.get(page_of(customer))

    page = response.content.decode()
    assert "INV-011" in page and "8011" in page
    assert "INV-000" not in page and ">8000<" not in page  # the ten latest only
    assert f"?customer__id__exact={customer.pk}" in page
    assert "All 12 invoices of this customer" in page and "All 12 payments of this customer" in page
    listed = client.get(
        reverse("admin:payments_transaction_changelist") + f"?customer__id__exact={customer.pk}"
    )
    assert listed.context["cl"].result_count == 12


def test_journal_entries_have_an_amount_column(client):
    entry = JournalEntryFactory()
    JournalEntryLine.objects.create(entry=entry, line_number=1, account="6100", debit=Decimal("12.34"))
    JournalEntryLine.objects.create(entry=entry, line_number=2, account="1010", credit=Decimal("12.34"))
    client.force_login(staff_user(role=AUDITOR))

    page = client.get(reverse("admin:payments_journalentry_changelist")).content.decode()

    assert "12.34" in page and "column-amount" in page


# The buttons


def flagged_sale() -> RiskAssessment:
    sale = TransactionFactory(
        transaction_id="9001", amount=Decimal("1250.00"), customer=CustomerFactory(name="Jane Doe")
    )
    ErpPostingFactory(transaction=sale, status="held", reference="PT-9001")
    return RiskAssessment.objects.create(transaction=sale, score=85, status="flagged", reasons=REASONS)


def buttons(response) -> set[str]:
    found = set(response.context.get("risk_buttons", [])) | set(
        response.context.get("object_action_buttons", [])
    )
    return {button.name for button in found}


def test_a_reviewer_approves_from_the_payment_page_through_the_same_confirmation(client):
    assessment = flagged_sale()
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    page = client.get(page_of(assessment.transaction))
    assert buttons(page) == {"approve", "reject", "reject_and_refund", "refund_or_void"}
    (approve,) = [button for button in page.context["risk_buttons"] if button.name == "approve"]
    assert approve.url.endswith(f"?next={page_of(assessment.transaction).replace('/', '%2F')}")

    confirmation = client.post(approve.url)
    text = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert "Sale 9001 of USD 1250.00 from Jane Doe" in text and "score 85, flagged for review" in text
    assessment.refresh_from_db()
    assert assessment.status == "flagged"  # nothing decided by the button itself

    done = client.post(approve.url, {"confirmed": "yes", "reason": "customer confirmed by phone"})
    assert done.status_code == 302 and done["Location"] == page_of(assessment.transaction)
    assessment.refresh_from_db()
    assert assessment.status == "approved"
    assert AuditEvent.objects.filter(action="risk.approve", reason="customer confirmed by phone").exists()
    assert not buttons(client.get(page_of(assessment.transaction))) & {"approve", "reject"}  # decided


def test_an_auditor_sees_no_button_and_is_refused_the_action(client):
    assessment = flagged_sale()
    client.force_login(staff_user(role=AUDITOR))
    assert buttons(client.get(page_of(assessment.transaction))) == set()
    url = reverse("admin:payments_riskassessment_object_action", args=[assessment.pk, "approve"])

    assert client.post(url, {"confirmed": "yes", "reason": "no"}).status_code == 403
    assessment.refresh_from_db()
    assert assessment.status == "flagged"


def test_an_action_the_admin_does_not_offer_as_a_button_is_refused(client):
    assessment = flagged_sale()
    client.force_login(staff_user(role=None))
    url = reverse("admin:payments_riskassessment_object_action", args=[assessment.pk, "delete_selected"])
    assert client.post(url).status_code == 403


def test_next_must_be_a_page_of_this_site(client):
    assessment = flagged_sale()
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    url = reverse("admin:payments_riskassessment_object_action", args=[assessment.pk, "reject"])

    done = client.post(f"{url}?next=https://evil.example/", {"confirmed": "yes", "reason": "stolen card"})

    assert done["Location"] == page_of(assessment)
    assert client.get(f"{url}?next=https://evil.example/")["Location"] == page_of(
        assessment
    )  # "take me back"


def test_refund_from_the_payment_page_asks_its_form_first(client):
    assessment = flagged_sale()
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    url = reverse(
        "admin:payments_transaction_object_action", args=[assessment.transaction.pk, "refund_or_void"]
    )

    page = client.post(url)

    assert page.status_code == 200 and 'name="amount"' in page.content.decode()
    assert not Transaction.objects.filter(original=assessment.transaction).exists()
