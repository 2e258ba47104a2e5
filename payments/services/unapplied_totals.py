"""Upkeep of the unapplied running total (`UnappliedTotalDelta`, written by a trigger on PostgreSQL)."""

from django.db import connection, transaction as db_transaction

from payments.models import UnappliedTotalDelta
from payments.selectors.unapplied import unapplied_totals_from_payments

_COMPACT = """
WITH folded AS (DELETE FROM payments_unappliedtotaldelta RETURNING currency, payments, amount)
INSERT INTO payments_unappliedtotaldelta (currency, payments, amount)
SELECT currency, SUM(payments), SUM(amount) FROM folded GROUP BY currency
HAVING SUM(payments) <> 0 OR SUM(amount) <> 0
"""


def unapplied_totals_rebuild() -> int:
    """Write the running total again from the payments: one row per currency. Writers to the payments wait
    meanwhile (a SHARE lock), so no change falls between the sum and the rows. Returns the rows written."""
    with db_transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE payments_transaction IN SHARE MODE")
        UnappliedTotalDelta.objects.all().delete()
        rows = UnappliedTotalDelta.objects.bulk_create(
            UnappliedTotalDelta(currency=total.currency, payments=total.count, amount=total.amount)
            for total in unapplied_totals_from_payments()
        )
    return len(rows)


def unapplied_totals_compact() -> int:
    """Fold the deltas into one row per currency, in one statement: it deletes only the rows its snapshot
    sees and writes their sums, so a delta committed meanwhile is kept and counted once. Returns the rows
    left. Only on PostgreSQL, where the trigger writes deltas."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_COMPACT)
    return UnappliedTotalDelta.objects.count()
