"""Totals of a list's money columns, per currency, in one aggregate query over the filtered rows: only for a
list of fewer than TOTALS_BELOW rows. Summing a broad match (a name shared by thousands, a month of a
million payments) costs a read of every row it sums, far more than the page; the list says so instead."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

# A sum over this many rows takes tens of milliseconds; the list's count (exact below
# counting.EXACT_COUNT_BELOW, the planner's estimate above) decides before anything is summed.
TOTALS_BELOW = 20_000


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    rows: int
    sums: list[tuple[str, Decimal]]  # (column label, total)


def list_totals_wanted(*, rows: int) -> bool:
    return rows < TOTALS_BELOW


def list_totals(*, queryset: QuerySet, columns: dict[str, str], currency: str) -> list[CurrencyTotals]:
    """`columns` maps each summed path (or annotation) to its label; `currency` is the currency's path."""
    aliases = {f"total_{number}": path for number, path in enumerate(columns)}
    rows = (
        queryset.order_by()
        .values(currency)
        .annotate(rows_counted=Count("pk"), **{alias: Sum(path) for alias, path in aliases.items()})
        .order_by(currency)
    )
    return [
        CurrencyTotals(
            currency=row[currency] or "",
            rows=row["rows_counted"],
            sums=[(columns[path], row[alias] or Decimal("0")) for alias, path in aliases.items()],
        )
        for row in rows
    ]
