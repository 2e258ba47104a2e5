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


def test_one_batch_of_mixed_events_ends_as_one_at_a_time_would(client, paytrace):
    """Duplicates, a void read before its sale's event, a refund announced before its sale, a decline and
    a transaction PayTrace does not know, all in one claimed batch."""
    sale_id, voided_id = sale(paytrace, "42.00"), sale(paytrace, "43.00")
    paytrace.void(transaction_id=voided_id)
    declined_id = sale(paytrace, "0.29")
    refunded_id = sale(paytrace, "80.00")
    paytrace.settle()
    refund_id = paytrace.refund_for_transaction(
        transaction_id=refunded_id, amount=Decimal("30.00")
    ).transaction_id
    for event_id, event_type, transaction_id in (
        ("mix-sale", "transaction.success", sale_id),
        ("mix-sale-again", "transaction.success", sale_id),
        ("mix-void", "transaction.void", voided_id),
        ("mix-voided-sale", "transaction.success", voided_id),
        ("mix-decline", "transaction.declined", declined_id),
        ("mix-refund", "transaction.refund", refund_id),
        ("mix-refunded-sale", "transaction.success", refunded_id),
        ("mix-unknown", "transaction.success", "987654321"),
    ):
        webhook_deliver(client, event(event_id, event_type, transaction_id))
    inbox.webhook_events_drain(time_budget_seconds=60)

    events = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert events.pop("mix-unknown") == WebhookEvent.Status.FAILED
    assert set(events.values()) == {WebhookEvent.Status.PROCESSED}
    rows = {t.transaction_id: t for t in Transaction.objects.all()}
    assert rows[sale_id].status == "settled" and rows[voided_id].status == "voided"
    assert rows[declined_id].status == "declined"
    assert rows[refund_id].original == rows[refunded_id]
    assert (rows[refunded_id].status, rows[refunded_id].amount_refunded) == (
        "partially_refunded",
        Decimal("30"),
    )
    assert not any(row.decision_pending for row in rows.values())
    receipts = set(ErpPosting.objects.filter(document_type="receipt").values_list("reference", flat=True))
    assert {sale_id, refunded_id} <= receipts and not {voided_id, declined_id} & receipts
    assert ErpPosting.objects.filter(document_type="credit_memo", reference=refund_id).exists()


def test_a_batch_that_fails_as_a_whole_is_processed_one_event_at_a_time(client, paytrace, monkeypatch):
    def broken(events, context):
        raise RuntimeError("the batch path broke")

    monkeypatch.setitem(inbox._BATCH_HANDLERS, "transaction.success", broken)
    ids = _announced_sales(client, paytrace, count=3, label="fallback", vaulted=False)
    inbox.webhook_events_drain(time_budget_seconds=60)
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 3
    assert Transaction.objects.filter(transaction_id__in=ids, decision_pending=False).count() == 3


@pytest.fixture
def erp_invoice_reads(monkeypatch) -> list[str]:
    """The customer numbers whose open invoices the payments' application reads from the ERP."""
    from payments.services import allocations

    reads: list[str] = []
    connector_for = allocations.connector_for

    def counting_connector_for(connection):
        connector = connector_for(connection)
        invoices_open = connector.invoices_open

        def counted(*, customer_number):
            reads.append(customer_number)
            return invoices_open(customer_number=customer_number)

        connector.invoices_open = counted
        return connector

    monkeypatch.setattr(allocations, "connector_for", counting_connector_for)
    return reads


def _decided_with_receipts(ids: list[str]) -> None:
    assert Transaction.objects.filter(transaction_id__in=ids, decision_pending=False).count() == len(ids)
    receipts = ErpPosting.objects.filter(document_type=ErpPosting.DocumentType.RECEIPT, reference__in=ids)
    assert receipts.count() == len(ids)


def test_a_batch_reads_each_customers_open_invoices_from_the_erp_once(client, paytrace, erp_invoice_reads):
    # Six payments of three vault customers in one batch: three reads of the ERP's open invoices, not six;
    # every payment is still applied or put on account as it is decided.
    ids = _announced_sales(client, paytrace, count=6, label="memo", vaulted=True)
    inbox.webhook_events_drain(time_budget_seconds=60)
    assert sorted(erp_invoice_reads) == ["C1001", "C1002", "C1003"]
    _decided_with_receipts(ids)


def test_the_paytrace_sync_reads_each_customers_open_invoices_once_per_chunk(
    client, paytrace, demo_world, erp_invoice_reads
):
    # The same six payments never announced: the sync finds and decides them, reading each customer's
    # open invoices once for its chunk of records.
    from payments.services.paytrace import paytrace_transactions_sync
    from payments.services.pipeline import transaction_decide

    Transaction.objects.all().delete()  # the demo's own payments are synced first, apart
    connection = demo_world["connections"]["paytrace"]
    paytrace_transactions_sync(connection=connection, on_change=transaction_decide)
    erp_invoice_reads.clear()
    ids = [
        paytrace.sale(
            amount=Decimal(f"4{n}.00"),
            source=VaultCustomer(customer_id=("C1001", "C1002", "C1003")[n % 3]),
            details=Details(invoice_id=f"sync-{n}"),
        ).transaction_id
        for n in range(6)
    ]
    paytrace_transactions_sync(connection=connection, on_change=transaction_decide)
    assert sorted(set(erp_invoice_reads)) == ["C1001", "C1002", "C1003"]
    assert len(erp_invoice_reads) == 3
    _decided_with_receipts(ids)
