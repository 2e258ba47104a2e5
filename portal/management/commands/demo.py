"""Load the demo world for `make run` (idempotent) and print the logins."""

from django.core.management.base import BaseCommand

from portal.demo import BASE_URL, LOGIN_FILE, demo_load


class Command(BaseCommand):
    help = (
        "Create demo connections, mappings, simulator data, customers, invoices, payments and staff logins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default=BASE_URL, help="Where the portal (and its simulators) is served."
        )

    def handle(self, *args, base_url: str, **options):
        self.stdout.write(
            "Loading the demo world (connections, mappings, simulators, customers, invoices, payments)…"
        )
        passwords = demo_load(base_url=base_url)
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Logins (also in {LOGIN_FILE}):"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<11} {password}")
        self.stdout.write(f"Open {base_url}/admin/ and sign in as admin.")
