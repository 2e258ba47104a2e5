"""Make an API token for a user and print its key, once (replaces DRF's drf_create_token)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from payments.services.api_tokens import ApiTokenRefused, api_token_create


class Command(BaseCommand):
    help = (
        "Make an API token for a user (e.g. a storefront) and print its key: it is shown only now and "
        "kept nowhere, as only its digest is stored. The creation is written to the audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The username the token authenticates as.")

    def handle(self, *args, user: str, **options):
        users = get_user_model().objects
        try:
            owner = users.get_by_natural_key(user)
        except users.model.DoesNotExist:
            raise CommandError(f"no user named {user!r}", returncode=2) from None
        try:
            issued = api_token_create(actor=None, user=owner, reason="token_create command")
        except ApiTokenRefused as exc:
            raise CommandError(str(exc), returncode=2) from exc
        # The key alone on stdout, so a script can capture it; the explanation on stderr.
        self.stderr.write(
            f"Token {issued.token.token_key}… for {user} made; copy its key now, it cannot be shown again:",
            style_func=self.style.WARNING,
        )
        self.stdout.write(issued.key)
