"""The duplicate review: "same customer" merges everything into the older one, "different" keeps both;
each decision is an AuditEvent, made from the admin with a reason."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError

from customers.matching import duplicate_candidate_flag
from customers.models import Customer, CustomerLink
from customers.review import duplicate_decide
from integrations.models import AuditEvent
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


def test_two_ids_in_one_system_are_refused(pair):
    older, newer, candidate = pair
    erp = ConnectionFactory(system="sage_300")
    CustomerLinkFactory(customer=older, connection=erp)
    CustomerLinkFactory(customer=newer, connection=erp)
    with pytest.raises(ValidationError, match="merge them there first"):
        duplicate_decide(candidate=candidate, same=True, reason="same?")
    candidate.refresh_from_db()
    assert candidate.status == "open" and CustomerLink.objects.count() == 2


def test_the_admin_action_asks_for_a_reason_then_decides(client, pair):
    older, newer, candidate = pair
    client.force_login(UserFactory(is_superuser=True))
    url = "/admin/customers/duplicatecandidate/"
    picked = {"action": "same_customer", ACTION_CHECKBOX_NAME: [candidate.pk]}
    assert b"Confirm" in client.post(url, picked).content
    client.post(url, {**picked, "confirmed": "yes", "reason": ""})
    assert Customer.objects.filter(pk=newer.pk).exists()  # no reason, no decision
    client.post(url, {**picked, "confirmed": "yes", "reason": "checked with the shop"})
    assert not Customer.objects.filter(pk=newer.pk).exists()
    assert AuditEvent.objects.filter(action="duplicate.same", reason="checked with the shop").exists()
