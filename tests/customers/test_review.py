"""The duplicate review: "same customer" merges everything into the older one, "different" keeps both;
each decision is an AuditEvent, made from the admin with a reason."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from customers.matching import duplicate_candidate_flag
from customers.models import Customer, CustomerLink, DuplicateCandidate
from customers.review import duplicate_decide
from customers.services import ExternalCustomer, customer_link_upsert
from integrations.models import Alert, AuditEvent
from tests.factories import (
    ConnectionFactory,
    CustomerFactory,
    CustomerLinkFactory,
    InvoiceFactory,
    OrderFactory,
    TransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    older = CustomerFactory(name="Acme Outdoor", email="", phone="")
    newer = CustomerFactory(name="Acme Outdoor Supply", email="ap@acme.example", phone="206-555-0101")
    return older, newer, duplicate_candidate_flag(customer=newer, other=older, reason="Same email")


def test_same_customer_moves_everything_to_the_older_one(pair):
    older, newer, candidate = pair
    vault = CustomerLinkFactory(customer=newer, connection=ConnectionFactory(system="paytrace"))
    payment = TransactionFactory(customer=newer)
    invoice = InvoiceFactory(customer=newer)
    order = OrderFactory(customer=newer)
    reviewer = UserFactory()

    duplicate_decide(candidate=candidate, same=True, actor=reviewer, reason="one shop, two logins")

    assert not Customer.objects.filter(pk=newer.pk).exists()
    for row in (vault, payment, invoice, order):
        row.refresh_from_db()
        assert row.customer_id == older.pk
    older.refresh_from_db()
    assert (older.email, older.phone, older.email_normalized) == (
        "ap@acme.example",
        "206-555-0101",
        "ap@acme.example",
    )
    event = AuditEvent.objects.get(action="duplicate.same")
    assert event.actor == reviewer and event.reason == "one shop, two logins"
    assert event.data["other"] == newer.pk and event.subject_id == str(older.pk)


def test_different_customers_keeps_both_and_is_audited(pair):
    older, newer, candidate = pair
    duplicate_decide(candidate=candidate, same=False, reason="two branches")
    candidate.refresh_from_db()
    assert candidate.status == "different" and candidate.decision_reason == "two branches"
    assert Customer.objects.filter(pk__in=[older.pk, newer.pk]).count() == 2
    assert AuditEvent.objects.get(action="duplicate.different").subject_id == str(candidate.pk)


def test_two_ids_in_one_erp_merge_here_and_say_exactly_what_to_do_there(pair):
    """Was refused ("merge them there first") while the admin showed a success: a dead end. Now the
    survivor's id stays the one posted to, the other's is kept on it, and finance is told what to do."""
    older, newer, candidate = pair
    erp = ConnectionFactory(system="sage_300", name="Sage 300")
    CustomerLinkFactory(customer=older, connection=erp, external_id="C1002")
    CustomerLinkFactory(customer=newer, connection=erp, external_id="C1007")
    payment = TransactionFactory(customer=newer)

    outcome = duplicate_decide(candidate=candidate, same=True, reason="same shop")

    assert outcome.kept == older and not Customer.objects.filter(pk=newer.pk).exists()
    assert list(CustomerLink.objects.values_list("customer", "external_id")) == [(older.pk, "C1002")]
    payment.refresh_from_db()
    assert payment.customer_id == older.pk
    older.refresh_from_db()
    (merged,) = older.merged_erp_ids
    assert (merged["connection"], merged["external_id"], merged["merged_customer"]) == (
        erp.pk,
        "C1007",
        newer.pk,
    )
    instruction = (
        "In Sage 300, merge customer C1007 into C1002 (Sage 300: A/R > Customers > Change customer number) "
        "or set C1007 inactive, so nothing more is posted to it."
    )
    assert [clash.instruction() for clash in outcome.erp_ids_to_merge] == [instruction]
    alert = Alert.objects.get(subject_type="customer", subject_id=str(older.pk))
    assert alert.message == instruction and alert.severity == "warning"
    assert AuditEvent.objects.get(action="duplicate.same").data["erp_ids_to_merge"] == [instruction]


def test_a_sync_of_the_id_merged_away_does_not_make_the_customer_again(pair):
    older, newer, candidate = pair
    erp = ConnectionFactory(system="sage_300")
    CustomerLinkFactory(customer=older, connection=erp, external_id="C1002")
    CustomerLinkFactory(customer=newer, connection=erp, external_id="C1007")
    duplicate_decide(candidate=candidate, same=True, reason="same shop")

    link, changed = customer_link_upsert(
        connection=erp, data=ExternalCustomer(external_id="C1007", name="Acme Outdoor Supply")
    )

    assert (link.customer_id, link.external_id, changed) == (older.pk, "C1002", False)
    assert Customer.objects.count() == 1 and not DuplicateCandidate.objects.exists()


def test_the_reviewer_may_keep_the_newer_customer(pair):
    older, newer, candidate = pair
    invoice = InvoiceFactory(customer=older)
    outcome = duplicate_decide(candidate=candidate, same=True, reason="newer is right", keep=newer)
    invoice.refresh_from_db()
    assert outcome.kept == newer and invoice.customer_id == newer.pk
    assert not Customer.objects.filter(pk=older.pk).exists()


def test_the_customer_kept_must_be_one_of_the_pair(pair):
    older, newer, candidate = pair
    with pytest.raises(ValidationError, match="one of the two"):
        duplicate_decide(candidate=candidate, same=True, keep=CustomerFactory())
    candidate.refresh_from_db()
    assert candidate.status == "open" and Customer.objects.filter(pk=newer.pk).exists()


URL = "/admin/customers/duplicatecandidate/"


def test_the_merge_page_names_both_customers_their_ids_and_what_hangs_on_them(client, pair):
    older, newer, candidate = pair
    erp = ConnectionFactory(system="sage_300", name="Sage 300")
    CustomerLinkFactory(customer=older, connection=erp, external_id="C1002")
    CustomerLinkFactory(customer=newer, connection=erp, external_id="C1007")
    TransactionFactory(customer=newer)
    TransactionFactory(customer=newer)
    InvoiceFactory(customer=older)
    client.force_login(UserFactory(is_superuser=True))
    picked = {"action": "same_customer", ACTION_CHECKBOX_NAME: [candidate.pk]}

    page = client.post(URL, picked).content.decode()

    assert "Acme Outdoor (customer" in page and "Sage 300: C1002; 0 payments, 1 invoice, 0 orders" in page
    assert "Acme Outdoor Supply &lt;ap@acme.example&gt;" in page
    assert "Sage 300: C1007; 2 payments, 0 invoices, 0 orders" in page
    assert "may be one customer (Same email)" in page  # the pair named, not "7 ~ 8"

    done = client.post(URL, {**picked, "confirmed": "yes", "keep": newer.pk, "reason": "newer is right"})
    shown = [(m.level_tag, m.message) for m in get_messages(done.wsgi_request)]
    assert (
        "warning",
        "Still to do in the ERP: In Sage 300, merge customer C1002 into C1007 (Sage 300: "
        "A/R > Customers > Change customer number) or set C1002 inactive, so nothing more is posted to it.",
    ) in shown
    assert any(
        level == "success" and message.startswith("Merged Acme Outdoor into") for level, message in shown
    )
    assert not Customer.objects.filter(pk=older.pk).exists()


def test_the_admin_action_asks_for_a_reason_then_decides(client, pair):
    older, newer, candidate = pair
    client.force_login(UserFactory(is_superuser=True))
    picked = {"action": "same_customer", ACTION_CHECKBOX_NAME: [candidate.pk]}
    assert b"Confirm" in client.post(URL, picked).content
    client.post(URL, {**picked, "confirmed": "yes", "keep": older.pk, "reason": ""})
    assert Customer.objects.filter(pk=newer.pk).exists()  # no reason, no decision
    client.post(URL, {**picked, "confirmed": "yes", "keep": older.pk, "reason": "checked with the shop"})
    assert not Customer.objects.filter(pk=newer.pk).exists()
    assert AuditEvent.objects.filter(action="duplicate.same", reason="checked with the shop").exists()


def test_deciding_nothing_is_a_warning_never_a_success(client, pair):
    older, newer, candidate = pair
    duplicate_decide(candidate=candidate, same=False, reason="two branches")
    client.force_login(UserFactory(is_superuser=True))
    picked = {"action": "different_customers", ACTION_CHECKBOX_NAME: [candidate.pk]}

    done = client.post(URL, {**picked, "confirmed": "yes", "reason": "again"})

    shown = [(m.level_tag, m.message) for m in get_messages(done.wsgi_request)]
    assert shown == [
        (
            "warning",
            "Nothing was decided as different customers: "
            "none of the 1 duplicate candidate selected could be.",
        )
    ]
    assert "row(s)" not in str(shown)
    again = client.post(
        URL,
        {
            "action": "same_customer",
            ACTION_CHECKBOX_NAME: [candidate.pk],
            "confirmed": "yes",
            "keep": older.pk,
            "reason": "x",
        },
    )
    assert b"This pair was already decided." in again.content
