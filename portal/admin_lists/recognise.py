"""What a search term is: a last four, an amount, a reference (a PayTrace transaction id, an invoice number,
an ERP document number, an order id), an email address, or words of a name. A term may be several at once
("4500" is a last four, an amount and perhaps an id); each kind is then looked up through its own index."""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class Kind(StrEnum):
    LAST_FOUR = "last_four"
    AMOUNT = "amount"
    REFERENCE = "reference"
    EMAIL = "email"
    NAME = "name"


# Trigram indexes only narrow a search of three characters or more.
NAME_MIN_LENGTH = 3

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_LAST_FOUR = re.compile(r"^\d{4}$")
# 4500 / 4500.00 / 4,500 / 4,500.5 / $4,500.00: thousands separated by commas, at most two decimals.
_AMOUNT = re.compile(r"^\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")
# One word of letters, digits and the punctuation ids use (INV-5006, CA2-1, WEB-00001, 1000123, PY/12).
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.#]*$")


@dataclass(frozen=True)
class SearchTerm:
    text: str
    kinds: frozenset[Kind] = field(default_factory=frozenset)
    amount: Decimal | None = None

    def references(self) -> list[str]:
        """As typed, and in capitals: ids are mostly kept in capitals, and typed in either case."""
        return sorted({self.text, self.text.upper()})


def search_term_classify(*, term: str) -> SearchTerm:
    text = " ".join(term.split())
    kinds: set[Kind] = set()
    amount = None
    if not text:
        return SearchTerm(text=text)
    if _EMAIL.match(text):
        return SearchTerm(text=text.lower(), kinds=frozenset({Kind.EMAIL}))
    if _LAST_FOUR.match(text):
        kinds.add(Kind.LAST_FOUR)
    if _AMOUNT.match(text):
        try:
            amount = Decimal(text.lstrip("$").replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            amount = None
        else:
            kinds.add(Kind.AMOUNT)
    if _REFERENCE.match(text):
        kinds.add(Kind.REFERENCE)
    if len(text) >= NAME_MIN_LENGTH and any(char.isalpha() for char in text):
        kinds.add(Kind.NAME)
    return SearchTerm(text=text, kinds=frozenset(kinds), amount=amount)
