"""Charge every due subscription period now (what the scheduled billing task does), with a summary."""

from django.core.management.base import BaseCommand, CommandError

from payments.models import Subscription
from payments.services.billing import subscriptions_bill_due


class Command(BaseCommand):
    help = (
        "Open due subscription periods and charge them with a PayTrace sale by vault customer; retry due "
        "declines (dunning); look up charges a dead run left in flight before charging again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subscription", type=int, action="append", help="Only this subscription id (repeatable)."
        )
        parser.add_argument(
            "--seconds", type=float, default=None, help="Stop taking new charges after this long."
        )

    def handle(self, *args, subscription: list[int] | None, seconds: float | None, **options):
        if subscription:
            missing = set(subscription) - set(
                Subscription.objects.filter(pk__in=subscription).values_list("pk", flat=True)
            )
            if missing:
                raise CommandError(f"no subscription with id {', '.join(map(str, sorted(missing)))}")

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  charges: {done}/{total}", ending="\r" if done < total else "\n")

        summary = subscriptions_bill_due(
            subscription_ids=subscription, time_budget_seconds=seconds, progress=progress
        )
        style = self.style.WARNING if summary.error or summary.out_of_time else self.style.SUCCESS
        self.stdout.write(style(summary.as_text()))
        if summary.error:
            raise CommandError(f"{summary.error} charge(s) failed unexpectedly; see the alerts")
