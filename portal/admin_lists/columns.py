"""List columns that fit a 1366 px screen: an amount with its currency in one right-aligned column
("USD 4,500.00"), sorted by the amount's (indexed) column."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import admin


def money_text(*, amount: Decimal | None, currency: str) -> str:
    return "—" if amount is None else f"{currency} {amount:,}"


def _attribute(obj: Any, path: str) -> Any:
    for name in path.split("__"):
        obj = getattr(obj, name, None) if obj is not None else None
    return obj


def money_column(
    *, amount: str, currency: str = "currency", description: str = "amount", sortable: bool = True
) -> Callable[[Any, Any], str]:
    """A ModelAdmin method for list_display showing `amount` in `currency` (paths on the row); the money
    list's template right-aligns the cells of columns whose names end in `_money`."""

    @admin.display(description=description, ordering=amount if sortable else None)
    def column(model_admin: Any, obj: Any) -> str:
        return money_text(amount=_attribute(obj, amount), currency=_attribute(obj, currency) or "")

    return column
