"""The webhook drain decides a claimed batch set-based: its SQL per event does not grow with the batch, and
each transaction ends as the one-at-a-time path leaves it (risk assessed, receipt planned, decided)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import inbox
from integrations.models import ErpPosting, WebhookEvent
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.types import Details, VaultCustomer
from payments.models import RiskAssessment, Transaction
from tests.integrations.paytrace_helpers import event, sale, webhook_deliver

pytestmark = pytest.mark.django_db(transaction=True)
# The target of issue 16: at most this many SQL statements per drained event.
QUERIES_PER_EVENT = 6


@pytest.fixture
def paytrace(demo_world) -> PayTraceClient:
    return PayTraceClient.from_connection(demo_world["connections"]["paytrace"])


def _announced_sales(client, paytrace: PayTraceClient, *, count: int, label: str, vaulted: bool) -> list[str]:
    ids = []
    for n in range(count):
        amount = f"{31 + n}.{n % 100:02d}"
        if vaulted:
            customer = ("C1001", "C1002", "C1003")[n % 3]
            ids.append(
                paytrace.sale(
                    amount=Decimal(amount),
                    source=VaultCustomer(customer_id=customer),
                    details=Details(invoice_id=f"{label}-{n}"),
                ).transaction_id
            )
        else:
            ids.append(sale(paytrace, amount))
        webhook_deliver(client, event(f"evt-{label}-{n}", "transaction.success", ids[-1]))
    return ids


def _drain_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        inbox.webhook_events_drain(time_budget_seconds=60)
    return len(queries)


def _drained_per_event(client, paytrace: PayTraceClient, *, vaulted: bool) -> dict[int, float]:
    """SQL statements per event of a drain of 4, then of 16 announced sales; each sale ends decided."""
    per_event = {}
    for count in (4, 16):
        ids = _announced_sales(client, paytrace, count=count, label=f"n{count}", vaulted=vaulted)
        per_event[count] = _drain_queries() / count
        processed = WebhookEvent.objects.filter(event_id__startswith=f"evt-n{count}-", status="processed")
        assert processed.count() == count
        assert Transaction.objects.filter(transaction_id__in=ids, decision_pending=False).count() == count
        assert RiskAssessment.objects.filter(transaction__transaction_id__in=ids).count() == count
        receipts = ErpPosting.objects.filter(document_type=ErpPosting.DocumentType.RECEIPT, reference__in=ids)
        assert receipts.count() == count
    return per_event


def test_a_drained_sale_costs_at_most_six_statements_and_fewer_in_a_bigger_batch(client, paytrace):
    per_event = _drained_per_event(client, paytrace, vaulted=False)
    assert per_event[16] <= per_event[4]
    assert per_event[16] <= QUERIES_PER_EVENT


def test_a_vaulted_customers_sale_adds_only_its_invoice_application(client, paytrace):
    # Applying a known customer's payment to its open invoices (`payment_apply`, which first reads them
    # again from the ERP) stays one payment at a time; the rest of the batch is still set-based.
    per_event = _drained_per_event(client, paytrace, vaulted=True)
    assert per_event[16] <= per_event[4]
