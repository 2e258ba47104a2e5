"""`INSERT … SELECT` statements for a model, written from its Django fields, so a bench states only the
columns it means and every other one gets the value Django would have given it (its default, the empty
string of a blank text field, NULL, now() for auto timestamps). A column that has none of these must be
given: a model that grows a required field then fails the bench loudly instead of loading wrong rows."""

import json
from datetime import date, datetime
from decimal import Decimal

from django.db import models


def sql_literal(value: object) -> str:
    """A constant as PostgreSQL reads it (the benches' own constants, never outside input)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return f"'{value.isoformat()}'"
    if isinstance(value, dict | list):
        return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
    return "'" + str(value).replace("'", "''") + "'"


def column_default_sql(field: models.Field) -> str:
    """What an INSERT that does not name `field` should write, as Django's `save()` would."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "now()"
    if field.has_default() or (field.empty_strings_allowed and not field.null):
        return sql_literal(field.get_default())
    if field.null:
        return "NULL"
    raise ValueError(f"{field.model.__name__}.{field.name} has no default: the bench must give it")


def insert_select_sql(model: type[models.Model], *, columns: dict[str, str], source: str) -> str:
    """`INSERT INTO <table> (every column) SELECT <expressions> <source>`: `columns` maps a field's name
    (its attname for a foreign key: `customer_id`) to an SQL expression over `source`, e.g.
    `FROM generate_series(1, 1000) g`."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    known = {field.attname for field in fields}
    unknown = set(columns) - known
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    names = ", ".join(field.column for field in fields)
    values = ",\n    ".join(columns.get(field.attname) or column_default_sql(field) for field in fields)
    return f"INSERT INTO {model._meta.db_table} ({names})\nSELECT {values}\n{source}"
