"""Send dead-letter postings again (after a mapping or the ERP was fixed)."""

from django.core.management.base import BaseCommand, CommandError

from integrations.models import ErpPosting
from integrations.outbox.services import postings_replay_dead


class Command(BaseCommand):
    help = "Move dead-letter ERP postings back to pending; each replay is written to the audit trail."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reason", required=True, help="Why they are replayed (kept in the audit trail)."
        )
        parser.add_argument("--connection", help="Only postings of this connection (by name).")
        parser.add_argument("--reference", help="Only the posting with this reference.")
        parser.add_argument("--error-code", help="Only postings whose last error has this code.")

    def handle(
        self,
        *args,
        reason: str,
        connection: str | None,
        reference: str | None,
        error_code: str | None,
        **options,
    ):
        filters = {}
        if connection:
            filters["connection__name"] = connection
        if reference:
            filters["reference"] = reference
        if error_code:
            filters["last_error_code"] = error_code
        if not ErpPosting.objects.filter(status=ErpPosting.Status.DEAD, **filters).exists():
            raise CommandError("no dead-letter posting matches")
        count = postings_replay_dead(reason=reason, **filters)
        self.stdout.write(
            self.style.SUCCESS(f"{count} posting(s) replayed; run post_pending or wait for the schedule")
        )
