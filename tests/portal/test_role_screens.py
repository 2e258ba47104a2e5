"""Roles on the screens they work in (every screen and action for every role: test_role_matrix.py).

A Finance reviewer decides queue items but cannot edit connections or mappings, nor open the connections
page, nor set a subscription's terms; an Integration admin edits connections and mappings; an Auditor sees
everything and changes nothing."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin import helpers

from integrations.models import AuditEvent, ErpPosting, StatusMapping
from payments.models import RiskAssessment, Subscription, Transaction
from portal.roles import AUDITOR, FINANCE_REVIEWER, INTEGRATION_ADMIN
from tests import factories as f
from tests.admin_pages import action_ran, admin_url, offered_actions
from tests.portal.test_admin import build_world
from tests.staff import staff_user

pytestmark = pytest.mark.django_db

MAPPINGS = {"statusmapping", "paymentmethodmapping", "glaccountrule", "currencyrate", "fielddefault"}
CONFIGURATION = MAPPINGS | {"connection"}
DECISIONS = {"replay_dead_letters", "cancel_postings"}


@pytest.fixture
def world():
    build_world(1)
    # The only row a "test connection" POST may touch: it refuses at once.
    f.ConnectionFactory(name="unreachable", base_url="http://127.0.0.1:9/", options={"timeout": 1})


def mapping_form(mapping: StatusMapping, **changes) -> dict:
    fields = {"erp": mapping.erp, "paytrace_status": mapping.paytrace_status}
    return {**fields, "erp_status": mapping.erp_status, "action": mapping.action, **changes}


@pytest.mark.parametrize("role", [FINANCE_REVIEWER, AUDITOR])
def test_configuration_cannot_be_changed_by_reviewers_or_auditors(client, world, role):
    client.force_login(staff_user(role=role))
    mapping = StatusMapping.objects.first()
    data = mapping_form(mapping, erp_status="X", action="none")
    assert client.post(admin_url(StatusMapping, "change", mapping.pk), data).status_code == 403
    assert client.get(admin_url(StatusMapping, "add")).status_code == 403
    connection = f.ConnectionFactory()
    assert client.post(admin_url(type(connection), "change", connection.pk), {"name": "x"}).status_code == 403
    mapping.refresh_from_db()
    assert mapping.erp_status != "X"


def test_integration_admin_edits_connections_and_mappings(client, world):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    mapping = StatusMapping.objects.first()
    data = mapping_form(mapping, erp_status="Settled", action="receipt")
    assert client.post(admin_url(StatusMapping, "change", mapping.pk), data).status_code == 302
    mapping.refresh_from_db()
    assert mapping.erp_status == "Settled"
    for name in CONFIGURATION:
        model = next(m for m in admin.site._registry if m._meta.model_name == name)
        assert client.get(admin_url(model, "add")).status_code == 200, name


def test_reviewer_is_offered_the_queue_decisions_and_integration_admin_the_tools(client, world):
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    assert offered_actions(client.get(admin_url(ErpPosting, "changelist"))) >= DECISIONS
    webhook_events = next(m for m in admin.site._registry if m._meta.model_name == "webhookevent")
    assert "reprocess_events" in offered_actions(client.get(admin_url(webhook_events, "changelist")))
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    connections = next(m for m in admin.site._registry if m._meta.model_name == "connection")
    assert "test_connections" in offered_actions(client.get(admin_url(connections, "changelist")))
    snapshots = next(m for m in admin.site._registry if m._meta.model_name == "mappingsnapshot")
    assert "import_snapshot" in offered_actions(client.get(admin_url(snapshots, "changelist")))


def test_integration_admin_can_neither_void_a_sale_nor_approve_a_flagged_payment(client, world):
    """The attack: an integration admin confirmed "Refund or void" on a $2,400 sale and could approve held
    payments. Both are money decisions: the POSTs, confirmed and with a reason, run nothing."""
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    sale = f.TransactionFactory(amount=Decimal("2400.00"))
    flagged = RiskAssessment.objects.create(transaction=sale, score=90, status="flagged")
    confirmed = {"confirmed": "yes", "reason": "looks odd", "amount": ""}
    audited = AuditEvent.objects.count()
    for model, action, row in ((Transaction, "refund_or_void", sale), (RiskAssessment, "approve", flagged)):
        response = client.post(
            admin_url(model, "changelist"),
            {"action": action, helpers.ACTION_CHECKBOX_NAME: [row.pk], **confirmed},
        )
        assert not action_ran(response), action
    assert not Transaction.objects.filter(original=sale).exists()
    flagged.refresh_from_db()
    assert flagged.status == "flagged"
    assert AuditEvent.objects.count() == audited


def test_finance_reviewer_decides_subscriptions_but_cannot_set_their_terms(client, world):
    client.force_login(staff_user(role=FINANCE_REVIEWER))
    subscription = Subscription.objects.get()
    terms = {"amount": subscription.amount, "customer_id": subscription.customer_id}
    url = admin_url(Subscription, "change", subscription.pk)
    page = client.get(url)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    forged = {
        "customer": f.CustomerFactory().pk,
        "paytrace_connection": subscription.paytrace_connection_id,
        "paytrace_customer_id": "C9999",
        "amount": "1.00",
        "currency": "USD",
        "interval": "daily",
        "next_run_on": "2030-01-01",
        "status": "active",
        "dunning_schedule_days": "[]",
        "subscriptioncharge_set-TOTAL_FORMS": "0",
        "subscriptioncharge_set-INITIAL_FORMS": "0",
    }
    assert client.post(url, forged).status_code == 403
    assert client.post(admin_url(Subscription, "add"), forged).status_code == 403
    subscription.refresh_from_db()
    assert {"amount": subscription.amount, "customer_id": subscription.customer_id} == terms
    assert Subscription.objects.count() == 1

    client.post(
        admin_url(Subscription, "changelist"),
        {
            "action": "subscriptions_cancel_action",
            helpers.ACTION_CHECKBOX_NAME: [subscription.pk],
            "confirmed": "yes",
            "reason": "customer left",
        },
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    assert AuditEvent.objects.get(action="subscription.cancel").actor.username == "finance-reviewer"
