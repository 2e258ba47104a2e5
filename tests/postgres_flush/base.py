"""PostgreSQL for the test suite, with a cheaper flush after each live-server (transactional) test.

Django empties every table after such a test with one TRUNCATE, which gives each of the ~150 tables and their
indexes new files: about a second per test on this machine, most of the suite's time. The tables hold a few
rows by then, so DELETE empties them in milliseconds. Triggers, the foreign keys' among them, are switched off
for the flush (`session_replication_role`, which needs the superuser the suite runs as), so the order of the
tables does not matter and the triggers that keep running totals see nothing, as with TRUNCATE."""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            "SET LOCAL session_replication_role = replica",
            *(
                f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))}"
                for table in tables
            ),
        ]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
