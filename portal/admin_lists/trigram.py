"""Trigram indexes for searching names: GIN indexes over UPPER(column) with pg_trgm's operator class, which
serve Django's `icontains` as PostgreSQL runs it (UPPER(column) LIKE UPPER('%term%')). Created by
migrations on PostgreSQL only; on SQLite (the embedded default) the same search scans, which is fine at its
size. They are kept out of the models' Meta: SQLite could neither create nor rebuild them."""

from collections.abc import Sequence

from django.db import migrations


def trigram_indexes(*, table: str, columns: Sequence[str]) -> migrations.RunPython:
    """A migration operation creating (and on reverse dropping) `<table>_<column>_trgm` for each column."""
    names = {column: f"{table}_{column}_trgm" for column in columns}

    def create(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for column, name in names.items():
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (UPPER("{column}") gin_trgm_ops)'
            )

    def drop(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in names.values():
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    return migrations.RunPython(create, drop)
