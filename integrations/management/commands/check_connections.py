"""Call every active connection of the running environment and keep each answer on its row."""

from django.core.management.base import BaseCommand, CommandError

from integrations.connection_checks import connection_check
from integrations.selectors import connections_active


class Command(BaseCommand):
    help = "Test the running environment's active connections (PayTrace login and report, ERP sign-on)."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="Only the connection with this name.")

    def handle(self, *args, name: str | None, **options):
        connections = connections_active().order_by("name")
        if name:
            connections = connections.filter(name=name)
        connections = list(connections)
        if not connections:
            raise CommandError(
                f"no active connection{f' named {name!r}' if name else ''} in this environment"
            )
        failed = 0
        for number, connection in enumerate(connections, start=1):
            check = connection_check(connection=connection)
            failed += not check.ok
            style = self.style.SUCCESS if check.ok else self.style.ERROR
            outcome = "ok" if check.ok else f"FAILED: {check.message}"
            self.stdout.write(style(f"[{number}/{len(connections)}] {connection.name}: {outcome}"))
        if failed:
            raise CommandError(f"{failed} of {len(connections)} connection(s) failed")
