"""Reads behind settlement reconciliation. Each one is a single grouped or anti-joined query over every
batch being reconciled (named by a subquery, not a list of ids), so PostgreSQL reads each table once and
the cost grows with the number of rows, never with the number of queries."""

from datetime import datetime

from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet, Sum

from integrations.models import Connection, ErpPosting
from payments.models import ReconciliationException, SettlementBatch, Transaction

DocumentType = ErpPosting.DocumentType
# The document that carries a settled transaction into the ERP.
SETTLED_DOCUMENTS = (DocumentType.RECEIPT, DocumentType.CREDIT_MEMO)


def batches_to_reconcile(*, connection: Connection) -> QuerySet[SettlementBatch]:
    return SettlementBatch.objects.filter(
        connection=connection,
        status__in=(SettlementBatch.Status.IMPORTED, SettlementBatch.Status.EXCEPTIONS),
    ).order_by("settled_at", "pk")


def batch_brand_totals(*, batches: QuerySet[SettlementBatch]) -> list[dict]:
    """Count and amount per batch, card brand, merchant and sale/refund side."""
    return list(
        Transaction.objects.filter(settlement_batch__in=batches)
        .values("settlement_batch_id", "card_brand", "merchant_id", "transaction_type", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by()
    )


def _settled_document_posted(*, erp: Connection):
    return ErpPosting.objects.filter(
        connection=erp,
        document_type__in=SETTLED_DOCUMENTS,
        reference=OuterRef("transaction_id"),
        status=ErpPosting.Status.POSTED,
    )


def batch_transactions_unposted(*, batches: QuerySet[SettlementBatch], erp: Connection) -> list[dict]:
    """Batch transactions whose receipt or credit memo is not posted in `erp`, with the posting's state
    when there is one (an anti-join for the many, then one small lookup for the few)."""
    rows = list(
        Transaction.objects.filter(
            settlement_batch__in=batches,
            transaction_type__in=(*Transaction.PAYMENT_TYPES, *Transaction.REFUND_TYPES),
        )
        .filter(~Exists(_settled_document_posted(erp=erp)))
        .values("pk", "settlement_batch_id", "transaction_id", "amount", "currency")
    )
    postings = {
        posting["reference"]: posting
        for posting in ErpPosting.objects.filter(
            connection=erp,
            document_type__in=SETTLED_DOCUMENTS,
            reference__in=[row["transaction_id"] for row in rows],
        ).values("reference", "status", "last_error")
    }
    for row in rows:
        posting = postings.get(row["transaction_id"]) or {}
        row["posting_status"] = posting.get("status")
        row["posting_error"] = posting.get("last_error", "")
    return rows


def batch_duplicate_charges(*, batches: QuerySet[SettlementBatch]) -> list[dict]:
    """Sales in one batch with the same card, amount and invoice reference: charged twice."""
    return list(
        Transaction.objects.filter(
            settlement_batch__in=batches, transaction_type__in=Transaction.PAYMENT_TYPES
        )
        .exclude(invoice_reference="")
        .values("settlement_batch_id", "last4", "amount", "currency", "invoice_reference")
        .annotate(count=Count("pk"), first=Min("pk"), last=Max("pk"))
        .filter(count__gt=1)
        .order_by()
    )


def sales_posted_never_settled(*, connection: Connection, erp: Connection, before: datetime) -> list[dict]:
    """Sales whose receipt is in the ERP but that no batch up to `before` contained."""
    return list(
        Transaction.objects.filter(
            connection=connection,
            transaction_type__in=Transaction.PAYMENT_TYPES,
            status=Transaction.Status.APPROVED,
            settlement_batch__isnull=True,
            occurred_at__lt=before,
        )
        .filter(Exists(_settled_document_posted(erp=erp)))
        .values("pk", "transaction_id", "amount", "currency")
    )


def exceptions_open_missing_in_erp(*, erp: Connection) -> QuerySet[ReconciliationException]:
    """Open "missing in the ERP" questions whose document has since been posted."""
    posted = ErpPosting.objects.filter(
        connection=erp,
        document_type__in=SETTLED_DOCUMENTS,
        reference=OuterRef("transaction__transaction_id"),
        status=ErpPosting.Status.POSTED,
    )
    return ReconciliationException.objects.filter(
        kind=ReconciliationException.Kind.MISSING_IN_ERP,
        status=ReconciliationException.Status.OPEN,
        transaction__isnull=False,
    ).filter(Exists(posted))
