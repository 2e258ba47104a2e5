"""The next value of a simulator's number counter in one statement, shared by the ERP simulators."""

from django.db import connection, models


def counter_increment(*, model: type[models.Model], keys: dict[str, object]) -> int:
    """Add one to the counter row `keys` names (created at 1 the first time) and return its new value.

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING, where a SELECT ... FOR UPDATE, an UPDATE and a
    re-read took four round trips a number (one number a receipt of a batch). The upsert holds the row
    lock as the SELECT ... FOR UPDATE did, until the caller's transaction ends. `model` has a unique
    constraint on exactly the `keys` columns and an integer `value`."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.get_field(name).column for name in keys]
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    holes = ", ".join(["%s"] * len(columns))
    sql = (
        f"INSERT INTO {table} ({names}, value) VALUES ({holes}, 1)"  # noqa: S608 - names from the model
        f" ON CONFLICT ({names}) DO UPDATE SET value = {table}.value + 1 RETURNING value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(keys.values()))
        return cursor.fetchone()[0]
