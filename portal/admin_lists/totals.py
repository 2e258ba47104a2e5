"""Totals of a list's money columns, per currency, in one aggregate query over the filtered rows."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    rows: int
    sums: list[tuple[str, Decimal]]  # (column label, total)


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
