"""The unapplied total per currency: money taken and kept (a sale or ACH sale approved, settled or
partially refunded) that is not yet applied to invoices or refunded.

Read from the payments themselves it is a scan of every such payment (0.84M at a million transactions,
600 ms even index-only); on PostgreSQL it is read from the running total a trigger keeps
(`UnappliedTotalDelta`), a few rows. Both give the same figures: the tests compare them after every kind
of change."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, QuerySet, Sum

from payments.models import Transaction, UnappliedTotalDelta

Status = Transaction.Status
# Kept in step with the trigger in migration unapplied_total_deltas (tests/payments/test_unapplied_totals).
UNAPPLIED_TYPES = (Transaction.Type.SALE, Transaction.Type.ACH_SALE)
UNAPPLIED_STATUSES = (Status.APPROVED, Status.SETTLED, Status.PARTIALLY_REFUNDED)


@dataclass(frozen=True)
class UnappliedTotal:
    currency: str
    count: int
    amount: Decimal


def transactions_unapplied() -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        transaction_type__in=UNAPPLIED_TYPES,
        status__in=UNAPPLIED_STATUSES,
        amount__gt=F("amount_refunded") + F("amount_applied"),
    )


def unapplied_totals_from_payments() -> list[UnappliedTotal]:
    """Summed over the payments (served by `transaction_unapplied_idx`, index-only)."""
    rows = (
        transactions_unapplied()
        .values("currency")
        .annotate(count=Count("pk"), amount=Sum(F("amount") - F("amount_refunded") - F("amount_applied")))
        .order_by("currency")
    )
    return [UnappliedTotal(**row) for row in rows]


def unapplied_totals_from_running_total() -> list[UnappliedTotal]:
    rows = (
        UnappliedTotalDelta.objects.values("currency")
        .annotate(count=Sum("payments"), amount=Sum("amount"))
        .filter(count__gt=0)
        .order_by("currency")
    )
    return [UnappliedTotal(**row) for row in rows]


def unapplied_totals() -> list[UnappliedTotal]:
    """The running total where the trigger keeps it (PostgreSQL); summed over the payments elsewhere
    (SQLite, the embedded default, holds few)."""
    if connection.vendor == "postgresql":
        return unapplied_totals_from_running_total()
    return unapplied_totals_from_payments()
