"""What a payment's, an invoice's and a customer's pages show of everything that touched them: each
section one query, whatever the number of its rows (related rows are joined, never read one by one)."""

from dataclasses import dataclass

from django.db.models import CharField, Q, QuerySet, Subquery
from django.db.models.functions import Cast

from integrations.models import AuditEvent, ErpPosting, ErpPostingAttempt, WebhookEvent
from payments.models import (
    Allocation,
    Invoice,
    ReconciliationException,
    RiskAssessment,
    Transaction,
)

# A customer's page lists this many of the latest invoices and payments, with a link to all of them.
CUSTOMER_LATEST = 10
AUDIT_SHOWN = 50


@dataclass(frozen=True)
class TransactionStory:
    risk: RiskAssessment | None
    allocations: list[Allocation]
    postings: list[ErpPosting]
    money_back: list[Transaction]  # refunds and chargebacks of a sale, or the sale a refund belongs to
    exceptions: list[ReconciliationException]
    deliveries: list[WebhookEvent]
    attempts: list[ErpPostingAttempt]
    audit: list[AuditEvent]


def _ids_text(queryset: QuerySet) -> Subquery:
    """The rows' primary keys as text, the way audit events name their subjects."""
    return Subquery(queryset.annotate(id_text=Cast("pk", CharField())).values("id_text"))


def transaction_audit_events(*, transaction: Transaction) -> QuerySet[AuditEvent]:
    """Every decision about the payment, its refunds, risk score, applications, ERP documents,
    reconciliation questions and webhook deliveries, newest first; one query."""
    subjects = {
        "transaction": Transaction.objects.filter(Q(pk=transaction.pk) | Q(original=transaction)),
        "riskassessment": RiskAssessment.objects.filter(transaction=transaction),
        "allocation": Allocation.objects.filter(payment=transaction),
        "erpposting": ErpPosting.objects.filter(transaction=transaction),
        "reconciliationexception": ReconciliationException.objects.filter(transaction=transaction),
        "webhookevent": WebhookEvent.objects.filter(transaction=transaction),
    }
    named = Q()
    for subject_type, rows in subjects.items():
        named |= Q(subject_type=subject_type, subject_id__in=_ids_text(rows))
    return AuditEvent.objects.filter(named).select_related("actor").order_by("-created_at", "-pk")


def transaction_story_get(*, transaction: Transaction) -> TransactionStory:
    money_back = Q(original=transaction)
    if transaction.original_id:
        money_back |= Q(pk=transaction.original_id)
    return TransactionStory(
        risk=RiskAssessment.objects.filter(transaction=transaction).select_related("decided_by").first(),
        allocations=list(
            Allocation.objects.filter(payment=transaction)
            .select_related("invoice__connection", "actor", "reversed_by")
            .order_by("created_at", "pk")
        ),
        postings=list(
            ErpPosting.objects.filter(transaction=transaction)
            .select_related("connection")
            .order_by("created_at", "pk")
        ),
        money_back=list(Transaction.objects.filter(money_back).order_by("occurred_at", "pk")),
        exceptions=list(
            ReconciliationException.objects.filter(transaction=transaction)
            .select_related("settlement_batch")
            .order_by("created_at", "pk")
        ),
        deliveries=list(WebhookEvent.objects.filter(transaction=transaction).order_by("created_at", "pk")),
        attempts=list(
            ErpPostingAttempt.objects.filter(posting__transaction=transaction)
            .select_related("posting__connection")
            .order_by("started_at", "pk")
        ),
        audit=list(transaction_audit_events(transaction=transaction)[:AUDIT_SHOWN]),
    )


def invoice_applications(*, invoice: Invoice) -> list[Allocation]:
    """The payments applied to the invoice (undone ones included, marked so), oldest first."""
    return list(
        Allocation.objects.filter(invoice=invoice)
        .select_related("payment", "actor", "reversed_by")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class CustomerStory:
    invoices: list[Invoice]
    invoice_count: int
    payments: list[Transaction]
    payment_count: int


def customer_story_get(*, customer_id: int, latest: int = CUSTOMER_LATEST) -> CustomerStory:
    """The customer's latest invoices and payments, and how many of each there are."""
    invoices = Invoice.objects.filter(customer_id=customer_id)
    payments = Transaction.objects.filter(customer_id=customer_id)
    return CustomerStory(
        invoices=list(invoices.select_related("connection").order_by("-issued_on", "-pk")[:latest]),
        invoice_count=invoices.count(),
        payments=list(payments.order_by("-occurred_at", "-pk")[:latest]),
        payment_count=payments.count(),
    )
