"""Reads the storefront follows: an order with its history and payment, a payment with its ERP documents."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from integrations.models import ErpPosting, System
from integrations.selectors import connections_active
from payments.models import Allocation, Order, RiskAssessment, Transaction


@dataclass(frozen=True)
class PaymentView:
    transaction: Transaction
    postings: list[ErpPosting]
    applications: list[Allocation]
    held_for_review: bool

    @property
    def receipt(self) -> ErpPosting | None:
        return next((p for p in self.postings if p.document_type == ErpPosting.DocumentType.RECEIPT), None)


def _transactions() -> QuerySet[Transaction]:
    return Transaction.objects.select_related("order", "risk").prefetch_related(
        Prefetch("postings", queryset=ErpPosting.objects.select_related("connection").order_by("pk")),
        Prefetch("allocations", queryset=Allocation.objects.select_related("invoice").order_by("pk")),
    )


def payment_view(transaction: Transaction) -> PaymentView:
    postings = list(transaction.postings.all())
    risk = getattr(transaction, "risk", None)
    flagged = risk is not None and risk.status == RiskAssessment.Status.FLAGGED
    return PaymentView(
        transaction=transaction,
        postings=postings,
        applications=list(transaction.allocations.all()),
        held_for_review=flagged or any(p.status == ErpPosting.Status.HELD for p in postings),
    )


def transaction_view_get(*, transaction_id: str) -> PaymentView | None:
    """The payment by its PayTrace id, from this environment's PayTrace connections."""
    paytrace = connections_active(system=System.PAYTRACE)
    transaction = _transactions().filter(transaction_id=transaction_id, connection__in=paytrace).first()
    return payment_view(transaction) if transaction is not None else None


@dataclass(frozen=True)
class OrderView:
    order: Order
    payment: PaymentView | None


def order_view_get(*, order_id: str) -> OrderView | None:
    order = (
        Order.objects.select_related("erp_connection", "customer")
        .prefetch_related("events", "lines")
        .filter(order_id=order_id)
        .first()
    )
    if order is None:
        return None
    return OrderView(order=order, payment=order_payment_view(order=order))


def order_payment_view(*, order: Order) -> PaymentView | None:
    payments = _transactions().filter(order=order).exclude(transaction_type__in=("refund", "ach_refund"))
    payment = payments.order_by("pk").first()
    return payment_view(payment) if payment is not None else None
