"""The audit trail reads like a ledger: each event names its subject as the screen does, linked to that
subject's page, in words; a list page reads its subjects in one query per kind, however many events."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.audit import audit_action_label, audit_record
from integrations.models import GLAccountRule
from payments.models import RiskAssessment
from tests.factories import CustomerFactory, ErpPostingFactory, TransactionFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/admin/integrations/auditevent/"


def flagged(amount: str = "1250.00") -> RiskAssessment:
    sale = TransactionFactory(amount=Decimal(amount), customer=CustomerFactory(name="Jane Doe", email=""))
    return RiskAssessment.objects.create(transaction=sale, score=85, status="flagged")


def events(count: int) -> None:
    for _ in range(count):
        audit_record(action="posting.replay", subject=ErpPostingFactory(reference="PT-6"), reason="fixed")
        audit_record(action="risk.approve", subject=flagged(), reason="phoned")
        audit_record(
            action="glaccountrule.change",
            subject=GLAccountRule.objects.create(
                erp="sage_300",
                purpose="fees",
                account="6100",
                merchant_id=f"m{GLAccountRule.objects.count()}",
            ),
        )


@pytest.fixture
def root(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


def test_subjects_are_named_as_on_screen_and_linked(root):
    posting = ErpPostingFactory(reference="PT-6", erp_document_number="", status="dead")
    audit_record(action="posting.replay", subject=posting, reason="mapping added")
    assessment = flagged()
    audit_record(action="risk.approve", subject=assessment, reason="phoned")

    page = root.get(URL).content.decode()

    assert (
        f'<a href="/admin/integrations/erpposting/{posting.pk}/change/">Receipt PT-6 (dead letter)</a>'
        in page
    )
    assert f"/admin/payments/riskassessment/{assessment.pk}/change/" in page
    assert "from Jane Doe: score 85, flagged for review" in page and "USD 1250.00" in page
    assert "Dead letter replayed" in page and "Flagged payment approved" in page
    assert f"erpposting {posting.pk}<" not in page and ">posting.replay<" not in page


def test_a_subject_deleted_since_is_named_by_kind_and_id(root):
    rule = GLAccountRule.objects.create(erp="sage_300", purpose="fees", account="6100")
    audit_record(action="glaccountrule.delete", subject=rule)
    pk = rule.pk
    rule.delete()
    page = root.get(URL).content.decode()
    assert f"gl account rule {pk} (no longer exists)" in page.lower()
    assert "Gl account rule deleted" in page or "GL account rule deleted" in page


def test_the_list_reads_its_subjects_in_a_constant_number_of_queries(root):
    events(1)
    with CaptureQueriesContext(connection) as few:
        assert root.get(URL).status_code == 200
    events(6)
    with CaptureQueriesContext(connection) as many:
        assert root.get(URL).status_code == 200
    assert len(many) == len(few), [query["sql"] for query in many]


def test_action_names_read_as_words():
    assert audit_action_label(action="duplicate.same") == "Duplicate: merged as one customer"
    assert audit_action_label(action="alert.acknowledge") == "Alert acknowledged"
    assert audit_action_label(action="connection.change").startswith("Connection changed")
    assert audit_action_label(action="something.new") == "Something: new"


def test_an_event_page_links_its_subject(root):
    posting = ErpPostingFactory(reference="PT-6", status="dead")
    event = audit_record(action="posting.replay", subject=posting, reason="mapping added")
    page = root.get(f"{URL}{event.pk}/change/").content.decode()
    assert (
        f'<a href="/admin/integrations/erpposting/{posting.pk}/change/">Receipt PT-6 (dead letter)</a>'
        in page
    )
