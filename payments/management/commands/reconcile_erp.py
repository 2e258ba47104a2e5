"""Compare ERP net with PayTrace net per customer and day; open a reconciliation exception per difference."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from integrations.paytrace.errors import PayTraceError
from payments.services.erp_reconciliation import ErpNetSummary, erp_nets_reconcile

MAX_DAYS = 31
HEADER = ("Customer", "Day", "Currency", "PayTrace net", "ERP net", "Difference")


class Command(BaseCommand):
    help = (
        "Re-read the days from PayTrace, compare each customer's PayTrace net (sales less refunds) with the "
        "receipts less credit notes and reversals the ERP holds, and open a reconciliation exception for "
        "each customer-day that differs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=2, help=f"How many days, up to {MAX_DAYS}.")
        parser.add_argument(
            "--until", type=date.fromisoformat, help="Last day compared (YYYY-MM-DD); default today."
        )
        parser.add_argument("--skip-read", action="store_true", help="Compare without re-reading PayTrace.")
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="Take the outbox's word for what the ERP holds instead of looking each document up.",
        )

    def handle(self, *args, days: int, until: date | None, skip_read: bool, no_verify: bool, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}")
        try:
            summaries = erp_nets_reconcile(days=days, until=until, read=not skip_read, verify=not no_verify)
        except PayTraceError as exc:
            raise CommandError(f"PayTrace could not be read again: {exc}") from exc
        if not summaries:
            raise CommandError("no active PayTrace connection")
        for summary in summaries:
            self._report(summary)

    def _report(self, summary: ErpNetSummary) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(summary.connection))
        self.stdout.write(
            f"  {summary.compared} customer-days compared, {len(summary.differences)} differ"
            f" ({summary.opened} newly opened, {summary.resolved} resolved)"
        )
        if summary.unverified:
            self.stdout.write(
                self.style.WARNING(f"  {summary.unverified} documents could not be looked up in the ERP")
            )
        if not summary.differences:
            return
        rows = [HEADER] + [
            (g.customer[:30], str(g.day), g.currency, str(g.paytrace_net), str(g.erp_net), str(g.difference))
            for g in summary.differences
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  " + "  ".join(cells))
        self.stdout.write(
            self.style.WARNING("Each difference waits in the admin: Reconciliation exceptions.")
        )
