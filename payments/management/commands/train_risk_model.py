from django.core.management.base import BaseCommand, CommandError

from payments.risk.services import RiskModelTrainingRefused, risk_model_train


class Command(BaseCommand):
    help = "Retrain the risk anomaly model on the merchant's own history and make it the active version."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=180, help="Train on transactions this far back.")
        parser.add_argument(
            "--min-rows", type=int, default=200, help="Refuse to train on fewer transactions than this."
        )

    def handle(self, *args, days: int, min_rows: int, **options):
        if days < 1 or min_rows < 1:
            raise CommandError("--days and --min-rows must be at least 1")
        self.stdout.write(f"Computing features of the last {days} days of transactions…")
        try:
            version = risk_model_train(days=days, min_rows=min_rows, progress=self._progress)
        except RiskModelTrainingRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Trained {version.algorithm} {version.version} on {version.training_rows} transactions "
                f"at {version.trained_at:%Y-%m-%d %H:%M} UTC; it is now the active model."
            )
        )
        self.stdout.write(f"  anomalous share of the training rows: {version.metrics['anomalous_share']:.2%}")

    def _progress(self, done: int) -> None:
        self.stdout.write(f"  {done} transactions")
