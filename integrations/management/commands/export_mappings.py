"""Export the five mapping tables as one versioned JSON document (to promote them to another environment)."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.mapping_transfer import mappings_document_json, mappings_export


class Command(BaseCommand):
    help = "Write every mapping table as versioned JSON; the export is also kept as a mapping snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, output: str | None, **options):
        snapshot = mappings_export()
        text = mappings_document_json(snapshot=snapshot)
        rows = sum(len(table) for table in snapshot.content["tables"].values())
        if output:
            try:
                Path(output).write_text(text)
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc}") from None
        else:
            self.stdout.write(text, ending="")
        # The summary goes to stderr so that standard output stays a clean JSON document.
        sys.stderr.write(
            f"Exported mapping version {snapshot.version} ({rows} rows) to {output or 'stdout'}\n"
        )
