"""Reads behind the ERP net reconciliation: the transactions of a window and the ERP documents planned for
them, each in one query."""

from datetime import datetime

from django.db.models import QuerySet

from integrations.models import Connection, ErpPosting
from payments.models import ReconciliationException, Transaction

DocumentType = ErpPosting.DocumentType
# The documents that move a customer's money in the ERP: what the ERP net is made of.
NET_DOCUMENTS = (DocumentType.RECEIPT, DocumentType.CREDIT_MEMO, DocumentType.REVERSAL)


def net_transactions(*, connection: Connection, start: datetime, end: datetime) -> QuerySet[Transaction]:
    """The payments and refunds made in [start, end) on one PayTrace connection."""
    return (
        Transaction.objects.filter(
            connection=connection,
            occurred_at__gte=start,
            occurred_at__lt=end,
            transaction_type__in=Transaction.PAYMENT_TYPES | Transaction.REFUND_TYPES,
        )
        .select_related("customer", "original__customer")
        .order_by("occurred_at", "pk")
    )


def net_documents(*, transactions: QuerySet[Transaction]) -> QuerySet[ErpPosting]:
    return (
        ErpPosting.objects.filter(transaction__in=transactions, document_type__in=NET_DOCUMENTS)
        .select_related("connection")
        .order_by("pk")
    )


def net_exceptions(*, keys: list[str]) -> dict[str, ReconciliationException]:
    return {
        exception.dedup_key: exception
        for exception in ReconciliationException.objects.filter(
            kind=ReconciliationException.Kind.NET_MISMATCH, dedup_key__in=keys
        )
    }
