"""Every admin changelist and change page renders, and changelists keep a constant query count."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import DuplicateCandidate
from integrations.models import (
    Alert,
    CurrencyRate,
    ErpPostingAttempt,
    FieldDefault,
    GLAccountRule,
    MappingSnapshot,
    PaymentMethodMapping,
    StatusMapping,
    SyncCursor,
)
from payments.models import (
    Allocation,
    CallbackDelivery,
    CreditMemo,
    CurrencyConversion,
    JournalEntryLine,
    OrderEvent,
    OrderLine,
    ReconciliationException,
    RiskAssessment,
    RiskModelVersion,
    RiskPolicy,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

OUR_APPS = {"integrations", "customers", "payments"}
_sequence = itertools.count(1)


def build_world(count: int) -> None:
    for _ in range(count):
        n = next(_sequence)
        StatusMapping.objects.create(
            erp="sage_300", paytrace_status=f"s{n}", erp_status="Paid", action="receipt"
        )
        PaymentMethodMapping.objects.create(
            erp="sage_300", payment_method="card", card_brand=f"B{n}", erp_payment_code="CC"
        )
        GLAccountRule.objects.create(erp="sage_300", purpose="fees", card_brand=f"B{n}", account="6100")
        CurrencyRate.objects.create(
            from_currency="CAD",
            to_currency="USD",
            rate=Decimal("0.73"),
            valid_from=date(2020, 1, 1) + timedelta(days=n),
        )
        FieldDefault.objects.create(erp="sage_x3", field=f"F{n}", value="x")
        paytrace = f.ConnectionFactory()
        erp = f.ConnectionFactory(system="sage_300")
        customer, other = f.CustomerFactory(), f.CustomerFactory()
        link = f.CustomerLinkFactory(customer=customer, connection=paytrace)
        batch = f.SettlementBatchFactory(connection=paytrace)
        sale = f.TransactionFactory(connection=paytrace, customer=customer, settlement_batch=batch)
        refund = f.TransactionFactory(
            connection=paytrace,
            customer=customer,
            transaction_type="refund",
            original=sale,
            amount=Decimal("5"),
        )
        invoice = f.InvoiceFactory(connection=erp, customer=customer)
        order = f.OrderFactory(erp_connection=erp, customer=customer)
        OrderLine.objects.create(order=order, line_number=1, sku="TENT", quantity=1, unit_price=10, amount=10)
        Allocation.objects.create(
            payment=sale, invoice=invoice, amount=Decimal("1"), currency="USD", rule="reference"
        )
        posting = f.ErpPostingFactory(connection=erp, transaction=sale, order=order, customer=customer)
        ErpPostingAttempt.objects.create(
            posting=posting, number=1, started_at=timezone.now(), outcome="transient"
        )
        CurrencyConversion.objects.create(
            posting=posting,
            from_currency="CAD",
            from_amount=Decimal("13.60"),
            to_currency="USD",
            to_amount=Decimal("10.00"),
            rate=Decimal("1.36"),
            operation="divide",
            rate_date=timezone.now().date(),
            source="CurrencyRate",
        )
        event = OrderEvent.objects.create(order=order, status="received")
        CallbackDelivery.objects.create(
            order=order, event=event, url="https://shop.example/callback", payload={"status": "received"}
        )
        f.WebhookEventFactory(transaction=sale)
        entry = f.JournalEntryFactory(erp_connection=erp, transaction=sale, settlement_batch=batch)
        JournalEntryLine.objects.create(entry=entry, line_number=1, account="1000", debit=Decimal("1"))
        CreditMemo.objects.create(
            refund=refund, original=sale, invoice=invoice, amount=Decimal("5"), currency="USD"
        )
        f.SubscriptionFactory(customer=customer, paytrace_connection=paytrace, erp_connection=erp)
        RiskAssessment.objects.create(transaction=sale, score=80, status="flagged", decided_by=None)
        f.AuditEventFactory()
        Alert.objects.create(title="dead letter", subject_type="erp_posting", subject_id=str(posting.pk))
        SyncCursor.objects.create(connection=paytrace, resource=f"transactions-{link.pk}")
        low, high = sorted([customer, other], key=lambda c: c.pk)
        DuplicateCandidate.objects.create(customer=low, other=high, reason="same email")
        ReconciliationException.objects.create(
            kind="amount_mismatch",
            settlement_batch=batch,
            transaction=sale,
            reason="differs",
            dedup_key=f"x{n}",
        )
        RiskPolicy.objects.create()
        RiskModelVersion.objects.create(
            version=f"v{n}",
            algorithm="IsolationForest",
            trained_at=timezone.now(),
            training_rows=1,
            artifact=b"",
        )
        MappingSnapshot.objects.create(version=f"{n:064d}", direction="export", environment="dev", content={})


def our_model_admins():
    return sorted(
        (model for model in admin.site._registry if model._meta.app_label in OUR_APPS),
        key=lambda model: model._meta.label,
    )


@pytest.fixture
def superuser_client(client):
    user = f.UserFactory(username="root", is_superuser=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", our_model_admins(), ids=lambda m: m._meta.label)
def test_changelist_query_count_does_not_grow_with_rows(superuser_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    build_world(2)
    with CaptureQueriesContext(connection) as small:
        assert superuser_client.get(url).status_code == 200
    build_world(6)
    with CaptureQueriesContext(connection) as large:
        response = superuser_client.get(url)
    assert response.status_code == 200
    assert model._default_manager.count() >= 2
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


@pytest.mark.parametrize("model", our_model_admins(), ids=lambda m: m._meta.label)
def test_change_page_renders(superuser_client, model):
    build_world(1)
    obj = model._default_manager.first()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    assert superuser_client.get(url).status_code == 200


def test_connection_credentials_are_never_rendered(superuser_client):
    conn = f.ConnectionFactory(credentials={"username": "api-user", "password": "very-secret-pw"})
    page = superuser_client.get(
        reverse("admin:integrations_connection_change", args=[conn.pk])
    ).content.decode()
    assert "very-secret-pw" not in page
    assert "password: set" in page


def test_blank_credentials_field_keeps_what_is_stored(superuser_client):
    conn = f.ConnectionFactory(credentials={"username": "u", "password": "p"})
    data = {
        "name": conn.name,
        "system": conn.system,
        "environment": conn.environment,
        "base_url": conn.base_url,
        "is_active": "on",
        "options": "{}",
        "credentials_update": "",
    }
    url = reverse("admin:integrations_connection_change", args=[conn.pk])
    assert superuser_client.post(url, data).status_code == 302
    conn.refresh_from_db()
    assert conn.credentials == {"username": "u", "password": "p"}
    data["credentials_update"] = '{"username": "u2", "password": "p2"}'
    superuser_client.post(url, data)
    conn.refresh_from_db()
    assert conn.credentials == {"username": "u2", "password": "p2"}
