"""Write the dashboard's unapplied running total again from the payments."""

from django.core.management.base import BaseCommand

from payments.services.unapplied_totals import unapplied_totals_rebuild


class Command(BaseCommand):
    help = (
        "Sum the unapplied money of every payment again and replace the running total the dashboard reads "
        "(after a restore, or a bulk load made with the trigger disabled). Writers wait while it runs."
    )

    def handle(self, *args, **options):
        rows = unapplied_totals_rebuild()
        self.stdout.write(f"unapplied running total rebuilt: {rows} currenc{'y' if rows == 1 else 'ies'}")
