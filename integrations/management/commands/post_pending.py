"""Post every due outbox row to its ERP now, with a summary."""

from django.core.management.base import BaseCommand

from integrations.models import ErpPosting
from integrations.outbox.poster import postings_post_due


class Command(BaseCommand):
    help = "Claim due ERP postings (pending, or retryable whose backoff has passed) and post them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds", type=float, default=300.0, help="Stop claiming new work after this long."
        )

    def handle(self, *args, seconds: float, **options):
        due = ErpPosting.objects.filter(
            status__in=[ErpPosting.Status.PENDING, ErpPosting.Status.RETRYABLE]
        ).count()
        self.stdout.write(f"{due} posting(s) pending or waiting to retry")
        summary = postings_post_due(time_budget_seconds=seconds)
        self.stdout.write(
            self.style.SUCCESS(
                f"posted {summary.posted}, already in the ERP {summary.found_existing}, "
                f"to retry {summary.retried}, dead letters {summary.dead}, cancelled {summary.cancelled}, "
                f"ERP calls {summary.erp_calls}"
            )
        )
