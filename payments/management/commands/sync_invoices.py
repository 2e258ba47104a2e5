"""Read new and changed invoices from each active ERP connection into the portal's copies."""

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Connection
from integrations.sage.base import ErpError
from integrations.selectors import erp_connections_active
from payments.management.progress import progress_bar
from payments.services.invoice_arrivals import erp_invoices_sync_and_follow


class Command(BaseCommand):
    help = (
        "Read invoices created or changed in each ERP since its cursor (less the overlap window) and "
        "upsert them. Exit 0 when every connection synced, 1 when one failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", help="Only this ERP connection (by name).")

    def handle(self, *args, connection: str | None, **options):
        connections = list(erp_connections_active(name=connection))
        if not connections:
            raise CommandError(f"no active ERP connection{f' named {connection!r}' if connection else ''}")
        failures = sum(self._sync(conn) for conn in connections)
        if failures:
            raise CommandError(
                f"{failures} connection(s) failed; see the messages above and the cursor's last error"
            )

    def _sync(self, connection: Connection) -> int:
        try:
            summary = erp_invoices_sync_and_follow(
                connection=connection, progress=progress_bar(self.stdout, connection.name)
            )
        except (ErpError, ValueError) as exc:  # ValueError: a connection not set up to be read
            self.stderr.write(self.style.ERROR(f"{connection.name}: {exc}"))
            return 1
        if summary.skipped:
            self.stdout.write(
                self.style.WARNING(f"{connection.name}: another invoice sync is running; skipped")
            )
            return 0
        self.stdout.write(
            self.style.SUCCESS(
                f"{connection.name}: {summary.records} invoices read, {summary.changed} new or changed"
            )
        )
        return 0
