"""Key rotation: once a new key is first in FIELD_ENCRYPTION_KEY, move every stored credential onto it."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from integrations.credentials_rotation import credentials_reencrypt

PROGRESS_EVERY = 100


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential with the first key of FIELD_ENCRYPTION_KEY (comma-separated; "
        "every key decrypts). Values already under the first key are left alone, so it can run again."
    )

    def handle(self, *args, **options):
        try:
            outcome = credentials_reencrypt(progress=self._progress)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(
            f"{outcome.reencrypted} re-encrypted with the first key, {outcome.current} already under it."
        )
        if outcome.undecryptable:
            raise CommandError(
                f"{len(outcome.undecryptable)} credential(s) no key in FIELD_ENCRYPTION_KEY decrypts: "
                f"{', '.join(outcome.undecryptable)}. Add the key they were saved with and run again.",
                returncode=2,
            )
        self.stdout.write(self.style.SUCCESS("Every stored credential is under the first key."))

    def _progress(self, label: str, done: int, total: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            self.stdout.write(f"{label}: {done}/{total}")
