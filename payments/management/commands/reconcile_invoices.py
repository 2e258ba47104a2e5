"""Compare every open local invoice and its allocations with the ERP: mend what is safe, flag the rest."""

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Connection
from integrations.sage.base import ErpError
from integrations.selectors import erp_connections_active
from payments.management.progress import progress_bar
from payments.services.invoice_drift import invoices_reconcile

DRIFT_FOUND = 2


class Command(BaseCommand):
    help = (
        "Read each open (or applied-to) invoice from its ERP: refresh the copies that may safely follow "
        "the ERP and raise an 'invoice_drift' review item for the rest. Exit 0 when no drift is left, 2 "
        "when review items were raised, 1 when an ERP could not be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", help="Only this ERP connection (by name).")

    def handle(self, *args, connection: str | None, **options):
        connections = list(erp_connections_active(name=connection))
        if not connections:
            raise CommandError(f"no active ERP connection{f' named {connection!r}' if connection else ''}")
        outcomes = [self._reconcile(conn) for conn in connections]
        if None in outcomes:
            raise CommandError("an ERP could not be read; see the messages above")
        flagged = sum(outcomes)
        if flagged:
            raise CommandError(
                f"{flagged} invoice(s) differ from the ERP: see the review queue", returncode=DRIFT_FOUND
            )
        self.stdout.write(self.style.SUCCESS("no drift"))

    def _reconcile(self, connection: Connection) -> int | None:
        try:
            summary = invoices_reconcile(
                connection=connection, progress=progress_bar(self.stdout, connection.name)
            )
        except (ErpError, ValueError) as exc:  # ValueError: a connection not set up to be read
            self.stderr.write(self.style.ERROR(f"{connection.name}: {exc}"))
            return None
        self.stdout.write(
            f"{connection.name}: {summary.checked} invoices checked, {summary.mended} mended,"
            f" {summary.flagged} flagged"
        )
        return summary.flagged
