"""Mapping promotion: the five mapping tables exported and imported as one versioned JSON document.

A set tested in QA is promoted to prod as a unit. The document holds every row of every table in a
canonical order, and its `version` is the SHA-256 of that canonical content, so the same mappings give
the same version in every environment and a changed or truncated file is refused. An import is first
shown as a diff (rows added, changed, removed per table) and then applied in one transaction, against
the very state the diff was computed from.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from integrations.audit import audit_record
from integrations.models import (
    CurrencyRate,
    FieldDefault,
    GLAccountRule,
    MappingSnapshot,
    PaymentMethodMapping,
    StatusMapping,
)
from portal.json_input import JsonInputError, json_input_parse

FORMAT = "paysage-mappings"
FORMAT_VERSION = 1
TABLES: dict[str, type[models.Model]] = {
    "status_mappings": StatusMapping,
    "payment_method_mappings": PaymentMethodMapping,
    "gl_account_rules": GLAccountRule,
    "currency_rates": CurrencyRate,
    "field_defaults": FieldDefault,
}
BOOKKEEPING = {"id", "created_at", "updated_at"}
Row = dict[str, Any]
Content = dict[str, list[Row]]


class MappingFileError(Exception):
    """The document cannot be imported; the message says why, in words finance can act on."""


class MappingsChanged(Exception):
    """The mapping tables changed after the diff was shown: review the new diff before applying."""


def _key_fields(model: type[models.Model]) -> tuple[str, ...]:
    """A row's identity across environments: the fields of the table's unique constraint."""
    (unique,) = [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    return tuple(unique.fields)


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in BOOKKEEPING]


def _encode(model_field: models.Field, value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal(1).scaleb(-model_field.decimal_places)))
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row_key(model: type[models.Model], row: Row) -> tuple:
    return tuple(row[name] for name in _key_fields(model))


def row_label(model: type[models.Model], row: Row) -> str:
    """The row's key as finance reads it, a blank (matches anything) shown as *."""
    return " / ".join(str(row[name]) or "*" for name in _key_fields(model))


def _table_rows(model: type[models.Model]) -> list[Row]:
    fields = _fields(model)
    rows = [
        {f.name: _encode(f, value) for f, value in zip(fields, values, strict=True)}
        for values in model.objects.order_by().values_list(*(f.name for f in fields))
    ]
    return sorted(rows, key=lambda row: _row_key(model, row))


def mappings_content() -> Content:
    """Every mapping row, canonically encoded and ordered by each table's key."""
    return {name: _table_rows(model) for name, model in TABLES.items()}


def mappings_version(*, content: Content) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def mappings_export(*, actor: AbstractBaseUser | None = None) -> MappingSnapshot:
    content = mappings_content()
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": mappings_version(content=content),
        "environment": settings.PAYSAGE_ENV,
        "exported_at": timezone.now().isoformat(),
        "tables": content,
    }
    return MappingSnapshot.objects.create(
        version=document["version"],
        direction=MappingSnapshot.Direction.EXPORT,
        environment=settings.PAYSAGE_ENV,
        content=document,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )


def mappings_document_json(*, snapshot: MappingSnapshot) -> str:
    return json.dumps(snapshot.content, indent=2, ensure_ascii=False) + "\n"


# --- reading a document ---------------------------------------------------------------------------


def _row_clean(model: type[models.Model], table: str, number: int, raw: Any) -> Row:
    where = f"{table} row {number}"
    if not isinstance(raw, dict):
        raise MappingFileError(f"{where} is not an object.")
    fields = _fields(model)
    names = {f.name for f in fields}
    if unknown := sorted(set(raw) - names):
        raise MappingFileError(f"{where} has unknown field(s): {', '.join(unknown)}.")
    if missing := sorted(names - set(raw)):
        raise MappingFileError(f"{where} lacks field(s): {', '.join(missing)}.")
    row = {}
    for model_field in fields:
        value = raw[model_field.name]
        if isinstance(value, float):  # a JSON number has already lost the exact decimal
            raise MappingFileError(
                f'{where}, {model_field.name}: write amounts and rates as strings ("2.5000").'
            )
        try:
            row[model_field.name] = _encode(model_field, model_field.clean(value, None))
        except ValidationError as exc:
            raise MappingFileError(f"{where}, {model_field.name}: {' '.join(exc.messages)}") from None
    try:
        # The table's check constraints (positive rate, fees not negative); keys are checked per table.
        model(**row).validate_constraints(exclude=set(_key_fields(model)))
    except ValidationError as exc:
        raise MappingFileError(f"{where}: {' '.join(exc.messages)}") from None
    return row


def _table_clean(name: str, raw: Any) -> list[Row]:
    model = TABLES[name]
    if not isinstance(raw, list):
        raise MappingFileError(f"Table {name} is not a list of rows.")
    rows = [_row_clean(model, name, number, row) for number, row in enumerate(raw, start=1)]
    keys = [_row_key(model, row) for row in rows]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise MappingFileError(f"Table {name} has two rows for {', '.join(map(str, duplicate))}.")
    return sorted(rows, key=lambda row: _row_key(model, row))


@dataclass(frozen=True)
class MappingDocument:
    version: str
    environment: str
    exported_at: str
    content: Content
    raw: dict[str, Any] = field(repr=False)


def mappings_document_parse(*, text: str | bytes) -> MappingDocument:
    """Validate a document completely (fields, choices, constraints, keys, version) before anything is
    compared or written."""
    try:
        raw = json_input_parse(raw=text)
    except JsonInputError as exc:
        raise MappingFileError(f"Not a JSON document: {exc}.") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise MappingFileError(f'Not a Paysage mappings export (expected "format": "{FORMAT}").')
    if raw.get("format_version") != FORMAT_VERSION:
        raise MappingFileError(f"Unsupported format_version {raw.get('format_version')!r}; expected 1.")
    tables = raw.get("tables")
    if not isinstance(tables, dict) or set(tables) != set(TABLES):
        raise MappingFileError(f"The document must hold exactly the tables {', '.join(TABLES)}.")
    content = {name: _table_clean(name, tables[name]) for name in TABLES}
    version = mappings_version(content=content)
    if raw.get("version") != version:
        raise MappingFileError(
            "The version does not match the content (the file was edited or damaged after export): "
            f"it says {str(raw.get('version'))[:64]!r}, the content hashes to {version!r}."
        )
    return MappingDocument(
        version=version,
        environment=str(raw.get("environment", "")),
        exported_at=str(raw.get("exported_at", "")),
        content=content,
        raw=raw,
    )


# --- comparing and applying -----------------------------------------------------------------------


@dataclass(frozen=True)
class TableDiff:
    added: list[Row]
    changed: list[tuple[Row, Row]]  # (current, incoming)
    removed: list[Row]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass(frozen=True)
class MappingDiff:
    current_version: str
    incoming_version: str
    tables: dict[str, TableDiff]

    @property
    def is_empty(self) -> bool:
        return all(table.is_empty for table in self.tables.values())

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {"added": len(t.added), "changed": len(t.changed), "removed": len(t.removed)}
            for name, t in self.tables.items()
        }

    def totals(self) -> dict[str, int]:
        counts = self.counts().values()
        return {kind: sum(c[kind] for c in counts) for kind in ("added", "changed", "removed")}

    def as_json(self) -> dict[str, Any]:
        return {
            "current_version": self.current_version,
            "incoming_version": self.incoming_version,
            "tables": {
                name: {
                    "added": t.added,
                    "changed": [{"from": before, "to": after} for before, after in t.changed],
                    "removed": t.removed,
                }
                for name, t in self.tables.items()
            },
        }


@dataclass(frozen=True)
class DiffEntry:
    table: str
    kind: str  # added / changed / removed
    label: str
    changes: list[tuple[str, Any, Any]]  # (field, current, incoming) of a changed row


def mappings_diff_entries(*, diff: MappingDiff) -> list[DiffEntry]:
    """The diff row by row, in table order, for a person to read before applying."""
    entries = []
    for name, table in diff.tables.items():
        model = TABLES[name]
        entries += [DiffEntry(name, "added", row_label(model, row), []) for row in table.added]
        entries += [
            DiffEntry(
                name,
                "changed",
                row_label(model, after),
                [(key, before[key], after[key]) for key in after if before[key] != after[key]],
            )
            for before, after in table.changed
        ]
        entries += [DiffEntry(name, "removed", row_label(model, row), []) for row in table.removed]
    return entries


def _table_diff(model: type[models.Model], current: list[Row], incoming: list[Row]) -> TableDiff:
    now = {_row_key(model, row): row for row in current}
    new = {_row_key(model, row): row for row in incoming}
    return TableDiff(
        added=[row for key, row in new.items() if key not in now],
        changed=[(now[key], row) for key, row in new.items() if key in now and now[key] != row],
        removed=[row for key, row in now.items() if key not in new],
    )


def mappings_diff(*, document: MappingDocument) -> MappingDiff:
    current = mappings_content()
    return MappingDiff(
        current_version=mappings_version(content=current),
        incoming_version=document.version,
        tables={
            name: _table_diff(model, current[name], document.content[name]) for name, model in TABLES.items()
        },
    )


def _key_filter(model: type[models.Model], row: Row) -> dict[str, Any]:
    return {name: row[name] for name in _key_fields(model)}


def _table_apply(model: type[models.Model], diff: TableDiff) -> None:
    # Removed first, then changed, then added: a key never exists twice, whatever the order of rows.
    for row in diff.removed:
        model.objects.filter(**_key_filter(model, row)).delete()
    for _, row in diff.changed:
        model.objects.filter(**_key_filter(model, row)).update(**row, updated_at=timezone.now())
    for row in diff.added:
        model.objects.create(**row)


def _tables_lock() -> None:
    """No edit and no other import may change the tables between our diff and our writes. Reads go on.
    (SQLite, the embedded default, already serialises writers: its transactions begin IMMEDIATE.)"""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in TABLES.values())
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")  # noqa: S608 - our table names


def mappings_import(
    *,
    document: MappingDocument,
    expected_current_version: str | None = None,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
) -> tuple[MappingSnapshot | None, MappingDiff]:
    """Make the mapping tables equal to the document, all tables or none.

    `expected_current_version` is the current version the reviewer saw the diff against; if the tables
    changed since, nothing is written. Importing what is already there writes nothing and returns no
    snapshot."""
    with transaction.atomic():
        _tables_lock()
        diff = mappings_diff(document=document)
        if expected_current_version and diff.current_version != expected_current_version:
            raise MappingsChanged(
                "The mapping tables changed since the diff was shown; review the new diff before applying."
            )
        if diff.is_empty:
            return None, diff
        for name, model in TABLES.items():
            _table_apply(model, diff.tables[name])
        snapshot = MappingSnapshot.objects.create(
            version=document.version,
            direction=MappingSnapshot.Direction.IMPORT,
            environment=settings.PAYSAGE_ENV,
            source_environment=document.environment[:10],
            content=document.raw,
            diff=diff.as_json(),
            actor=actor if actor is not None and actor.is_authenticated else None,
        )
        audit_record(
            action="mappings.import",
            subject=snapshot,
            actor=actor,
            reason=reason
            or f"{document.environment or 'unknown'} export of {document.exported_at or 'unknown date'}",
            data={"from_version": diff.current_version, "to_version": document.version, **diff.counts()},
        )
    return snapshot, diff
