"""List filters that never read the list's table to offer their choices: a date range (from–to, with quick
links for today, 7 days, this month and year) in place of `date_hierarchy`, whose drill-down runs SELECT
DISTINCT date_trunc(...) over the whole table, and filters whose choices are a fixed set."""

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from rangefilter.filters import DateRangeQuickSelectListFilterBuilder

from integrations.models import CurrencyRate

DEFAULT_CURRENCY = "USD"  # the models' default currency


def date_range(field_path: str, title: str | None = None) -> tuple[str, type]:
    """A list_filter entry: the rows whose `field_path` (a date or a timestamp) falls in a range of days."""
    return (field_path, DateRangeQuickSelectListFilterBuilder(title=title))


def fixed_choices_filter(
    *, field_path: str, title: str, choices: Callable[[], Sequence[tuple[str, str]]]
) -> type[admin.SimpleListFilter]:
    """A filter on `field_path` offering `choices()` — values known without reading the table (a constant,
    or a small configuration table), never a SELECT DISTINCT over the list's rows."""

    class FixedChoicesFilter(admin.SimpleListFilter):
        parameter_name = field_path

        def lookups(self, request: HttpRequest, model_admin: Any) -> Sequence[tuple[str, str]]:
            return choices()

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            return queryset.filter(**{field_path: value}) if value else queryset

    FixedChoicesFilter.title = title
    FixedChoicesFilter.__name__ = f"{field_path.title().replace('_', '')}Filter"
    return FixedChoicesFilter


def _currencies() -> list[tuple[str, str]]:
    """The default currency and those the rate table converts between: a table of a few dozen rows."""
    rates = CurrencyRate.objects.values_list("from_currency", "to_currency")
    codes = {DEFAULT_CURRENCY} | {code for pair in rates for code in pair}
    return [(code, code) for code in sorted(codes)]


def currency_filter(field_path: str = "currency") -> type[admin.SimpleListFilter]:
    return fixed_choices_filter(field_path=field_path, title="currency", choices=_currencies)
