"""Pull PayTrace transactions (and vault customers) into the portal from each active connection."""

from django.core.management.base import BaseCommand, CommandError

from customers.paytrace import paytrace_customers_sync
from integrations.models import Connection, System
from integrations.paytrace.errors import PayTraceError
from integrations.selectors import connections_active
from payments.services.paytrace import paytrace_transactions_sync
from payments.services.pipeline import transaction_decide


class Command(BaseCommand):
    help = "Read PayTrace's transaction export from each connection's cursor (with its overlap window)."

    def add_arguments(self, parser):
        parser.add_argument("--connection", help="Only this connection (by name).")
        parser.add_argument("--skip-customers", action="store_true", help="Do not mirror vault customers.")

    def handle(self, *args, connection: str | None, skip_customers: bool, **options):
        connections = connections_active(system=System.PAYTRACE)
        if connection:
            connections = connections.filter(name=connection)
        if not connections.exists():
            raise CommandError(
                f"no active PayTrace connection{f' named {connection!r}' if connection else ''}"
            )
        failures = 0
        for conn in connections:
            failures += self._sync(conn, skip_customers=skip_customers)
        if failures:
            raise CommandError(
                f"{failures} connection(s) failed; see the messages above and the cursor's last error"
            )

    def _sync(self, connection: Connection, *, skip_customers: bool) -> int:
        def progress(done: int, total: int) -> None:
            if done == total or done % 50 == 0:
                self.stdout.write(
                    f"  {connection.name}: {done}/{total} records", ending="\r" if done < total else "\n"
                )

        try:
            summary = paytrace_transactions_sync(
                connection=connection, on_change=transaction_decide, progress=progress
            )
            if summary.skipped:
                self.stdout.write(self.style.WARNING(f"{connection.name}: another sync is running; skipped"))
                return 0
            self.stdout.write(
                self.style.SUCCESS(
                    f"{connection.name}: {summary.records} records read, {summary.changed} new or changed"
                )
            )
            if not skip_customers:
                customers = paytrace_customers_sync(connection=connection)
                self.stdout.write(
                    f"{connection.name}: {customers.records} vault customers, {customers.changed} changed"
                )
        except PayTraceError as exc:
            self.stderr.write(self.style.ERROR(f"{connection.name}: {exc}"))
            return 1
        return 0
