"""Admin actions: refund/void form, undo applications, resolve / write off / link exceptions, with audit."""

from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from integrations.models import AuditEvent, FieldDefault, GLAccountRule
from payments.models import Allocation, ReconciliationException
from tests.factories import (
    ConnectionFactory,
    InvoiceFactory,
    SettlementBatchFactory,
    TransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def staff(client):
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    return user


def act(client, model: str, action: str, pks, **data):
    return client.post(
        reverse(f"admin:payments_{model}_changelist"),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], **data},
    )


def test_refund_form_shows_a_refusal_and_changes_nothing(client, staff):
    sale = TransactionFactory(status="settled", amount=D("100"), amount_refunded=D("80"))
    page = act(client, "transaction", "refund_or_void", [sale.pk])
    assert page.status_code == 200 and b"Reason" in page.content
    refused = act(
        client, "transaction", "refund_or_void", [sale.pk], confirmed="yes", amount="50", reason="x"
    )
    assert b"At most 20.00 USD" in refused.content
    assert not AuditEvent.objects.exists()


def test_undo_allocations_from_the_admin(client, staff):
    invoice = InvoiceFactory(balance=D("0"), status="paid")
    sale = TransactionFactory(amount=D("100"), amount_applied=D("100"))
    allocation = Allocation.objects.create(
        payment=sale, invoice=invoice, amount=D("100"), currency="USD", rule="manual"
    )
    act(client, "allocation", "undo_allocations", [allocation.pk], confirmed="yes", reason="wrong invoice")
    allocation.refresh_from_db()
    invoice.refresh_from_db()
    assert allocation.reversed_at is not None and invoice.balance == D("100.00")
    assert AuditEvent.objects.get(action="allocation.undo").reason == "wrong invoice"


def exception(**fields):
    defaults = {"kind": "fee_mismatch", "reason": "fees differ", "difference": D("1.40")}
    return ReconciliationException.objects.create(
        dedup_key=f"k-{ReconciliationException.objects.count()}", **{**defaults, **fields}
    )


def test_resolve_write_off_and_link_exceptions(client, staff):
    ConnectionFactory(system="sage_300", name="erp")
    paytrace = ConnectionFactory(system="paytrace", options={"erp_connection": "erp"})
    for purpose, account in (("clearing", "1020"), ("write_off", "6900")):
        GLAccountRule.objects.create(erp="sage_300", purpose=purpose, account=account)
    FieldDefault.objects.create(erp="sage_300", field="home_currency", value="USD")
    batch = SettlementBatchFactory(connection=paytrace)
    resolved, written, linked = (exception(settlement_batch=batch) for _ in range(3))

    act(
        client,
        "reconciliationexception",
        "resolve_exceptions",
        [resolved.pk],
        confirmed="yes",
        reason="bank confirmed",
    )
    act(
        client,
        "reconciliationexception",
        "write_off_exceptions",
        [written.pk],
        confirmed="yes",
        reason="small",
    )
    sale = TransactionFactory(connection=paytrace)
    page = act(
        client,
        "reconciliationexception",
        "link_exception",
        [linked.pk],
        confirmed="yes",
        transaction_id="nope",
        reason="r",
    )
    assert b"No transaction has this id" in page.content
    act(
        client,
        "reconciliationexception",
        "link_exception",
        [linked.pk],
        confirmed="yes",
        transaction_id=sale.transaction_id,
        reason="found it",
    )
    for row in (resolved, written, linked):
        row.refresh_from_db()
    assert (resolved.status, resolved.resolved_by, resolved.resolution_note) == (
        "resolved",
        staff,
        "bank confirmed",
    )
    assert (written.status, written.write_off_account) == ("written_off", "6900")
    assert [(line.account, line.debit) for line in written.journal_entry.lines.all()] == [
        ("6900", D("1.40")),
        ("1020", D("0.00")),
    ]
    assert (linked.transaction, linked.status) == (sale, "resolved")
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "reconciliation.resolve",
        "reconciliation.write_off",
        "reconciliation.link",
    }
