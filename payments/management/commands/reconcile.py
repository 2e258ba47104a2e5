"""Import recent settlement batches from PayTrace and reconcile them; print a summary table."""

from django.core.management.base import BaseCommand, CommandError

from integrations.paytrace.errors import PayTraceError
from integrations.selectors import ConnectionMissing
from payments.services.reconciliation import IMPORT_DAYS, settlements_reconcile

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Import recent settlement batches from PayTrace, reconcile them, and report the differences."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=IMPORT_DAYS, help="Import batches settled this many days back."
        )
        parser.add_argument("--skip-import", action="store_true", help="Reconcile what is already imported.")

    def handle(self, *args, days: int, skip_import: bool, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        try:
            summaries = settlements_reconcile(
                days=days, import_batches=not skip_import, progress=self._progress
            )
        except (PayTraceError, ConnectionMissing) as exc:
            raise CommandError(str(exc)) from exc
        if not summaries:
            raise CommandError("no active PayTrace connection")
        for name, summary in summaries.items():
            self.stdout.write(self.style.MIGRATE_HEADING(name))
            rows = summary.as_rows()
            width = max(len(label) for label, _ in rows)
            for label, value in rows:
                self.stdout.write(f"  {label:<{width}}  {value:>10}")
        if any(summary.exceptions for summary in summaries.values()):
            self.stdout.write(
                self.style.WARNING("New exceptions wait in the admin (Reconciliation exceptions).")
            )

    def _progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"  [{bar}] {done}/{total} batches", ending="\r" if done < total else "\n")
