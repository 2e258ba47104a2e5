"""Password rules beyond Django's: its common-password list holds bare words, not the variants people
make of them by adding a year or a symbol ("paysage2024", "Password123!")."""

import re

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

# The names anyone guesses first at this portal's login.
PRODUCT_WORDS = frozenset({"paysage", "paytrace", "sage", "sagex", "sagepro"})
_AFFIXES = re.compile(r"^[^a-z]+|[^a-z]+$")


class GuessableWordPasswordValidator:
    """Refuses a password that is a product name or a common password with digits or symbols around it."""

    def __init__(self) -> None:
        self.common = CommonPasswordValidator().passwords

    def validate(self, password: str, user=None) -> None:
        word = _AFFIXES.sub("", password.lower())
        if word in PRODUCT_WORDS or word in self.common:
            raise ValidationError(
                "This password is a common word or the product's name with digits or symbols added.",
                code="password_guessable",
            )

    def get_help_text(self) -> str:
        return "Your password can't be a common word or the product's name with digits or symbols added."
