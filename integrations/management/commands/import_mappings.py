"""Import a mapping export: print the diff, then apply it to all five tables as one unit."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.mapping_transfer import (
    MappingDiff,
    MappingFileError,
    MappingsChanged,
    mappings_diff,
    mappings_diff_entries,
    mappings_document_parse,
    mappings_import,
)

MARKS = {"added": "+", "changed": "~", "removed": "-"}
BAD_INPUT = 2  # the file cannot be read or imported, as argparse's usage errors; 1 stays for conflicts


def diff_lines(diff: MappingDiff) -> list[str]:
    return [
        f"  {MARKS[entry.kind]} {entry.table}: {entry.label}"
        + "".join(f"; {field} {before!r} → {after!r}" for field, before, after in entry.changes)
        for entry in mappings_diff_entries(diff=diff)
    ]


class Command(BaseCommand):
    help = "Show what a mapping export would change, then apply it atomically (or only show it: --dry-run)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A file written by export_mappings, or - for standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Print the diff and change nothing.")
        parser.add_argument("--reason", default="", help="Why (kept in the audit trail).")

    def handle(self, *args, file: str, dry_run: bool, reason: str, **options):
        try:
            text = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}", returncode=BAD_INPUT) from None
        try:
            document = mappings_document_parse(text=text)
        except MappingFileError as exc:
            raise CommandError(f"{file}: {exc}", returncode=BAD_INPUT) from None
        diff = mappings_diff(document=document)
        self.stdout.write(
            f"Mapping version {diff.current_version[:12]} → {document.version[:12]} "
            f"(exported from {document.environment or '?'} at {document.exported_at or '?'})"
        )
        if diff.is_empty:
            self.stdout.write(self.style.SUCCESS("Nothing to change: the tables already hold this version."))
            return
        for line in diff_lines(diff):
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing changed.")
            return
        try:
            snapshot, applied = mappings_import(
                document=document, expected_current_version=diff.current_version, reason=reason
            )
        except MappingsChanged as exc:
            raise CommandError(str(exc)) from None
        if snapshot is None:  # someone imported the same version a moment ago
            self.stdout.write(self.style.SUCCESS("Nothing to change: the tables already hold this version."))
            return
        totals = applied.totals()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported version {document.version[:12]}: {totals['added']} added, "
                f"{totals['changed']} changed, {totals['removed']} removed (snapshot {snapshot.pk})."
            )
        )
