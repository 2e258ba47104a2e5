"""Reads over transactions for the workers."""

from datetime import timedelta

from django.utils import timezone

from payments.models import Transaction


def transactions_undecided(*, older_than: timedelta, limit: int) -> list[Transaction]:
    """Changes whose decide step never finished (its worker died) and that no delivery or sync took up."""
    return list(
        Transaction.objects.filter(decision_pending=True, updated_at__lt=timezone.now() - older_than)
        .select_related("connection")
        .order_by("updated_at")[:limit]
    )
