"""A list as CSV, streamed: the rows are read in chunks from a server-side cursor and written as they come,
so a list of a million rows never sits in memory. A spreadsheet runs a cell that starts with = + - @ (or a
tab or carriage return, which some strip first) as a formula; such text cells get a leading quote. Numbers
and dates are written as they are: they cannot carry a formula. No card data is ever a column."""

import csv
import datetime
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Card data (and the raw vendor payloads that could carry it) never leave in an export.
FORBIDDEN_COLUMNS = frozenset(
    {"last4", "card_brand", "raw", "payload", "credentials", "avs_response", "csc_response"}
)
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class ExportColumn:
    path: str
    header: str


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write hands back what it was given, for csv.writer to yield lines."""

    def write(self, value: str) -> str:
        return value


def export_columns_check(*, model: type, columns: Sequence[ExportColumn]) -> None:
    for column in columns:
        if set(column.path.split("__")) & FORBIDDEN_COLUMNS:
            raise ImproperlyConfigured(f"{model.__name__} export: {column.path} is card or vendor data")
        get_fields_from_path(model, column.path)  # raises for a path that names no field


def _labels(model: type, column: ExportColumn) -> dict[Any, str]:
    field = get_fields_from_path(model, column.path)[-1]
    return {str(value): str(label) for value, label in getattr(field, "flatchoices", None) or ()}


def csv_lines(*, queryset: QuerySet, columns: Sequence[ExportColumn]) -> Iterator[str]:
    export_columns_check(model=queryset.model, columns=columns)
    labels = [_labels(queryset.model, column) for column in columns]
    writer = csv.writer(_Echo())
    yield writer.writerow([column.header for column in columns])
    rows: Iterable[tuple] = queryset.values_list(*(column.path for column in columns)).iterator(
        chunk_size=CHUNK_ROWS
    )
    for row in rows:
        yield writer.writerow(
            [
                csv_cell(names.get(str(value), value) if names else value)
                for names, value in zip(labels, row, strict=True)
            ]
        )
