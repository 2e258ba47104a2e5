"""PCI guards: find and mask anything shaped like a card number before it is written anywhere."""

import logging
import re
from typing import Any

# 13-19 digits, optionally grouped by single spaces or dashes, not glued to other digits.
_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_numbers_find(text: str) -> list[str]:
    found = []
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
    return found


def _mask(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "*" * (len(digits) - 4) + digits[-4:]
    return match.group()


def card_numbers_mask(text: str) -> str:
    return _CANDIDATE.sub(_mask, text)


SECRET_KEYS = frozenset(
    {
        "number",
        "card_number",
        "encrypted_number",
        "csc",
        "encrypted_csc",
        "cvv",
        "account_number",
        "routing_number",
        "direct_deposit_account",
        "transit_routing_number",
        "swipe",
        "encrypted_swipe",
        "password",
        "access_token",
        "authorization",
        "enc_key",
        "hpf_token",
        "api_password",
        "client_secret",
    }
)


def redact(value: Any) -> Any:
    """Deep copy of a request/response snapshot with secrets replaced and card numbers masked."""
    if isinstance(value, dict):
        return {
            key: ("[redacted]" if str(key).lower() in SECRET_KEYS and val not in (None, "") else redact(val))
            for key, val in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return card_numbers_mask(value)
    return value


class CardNumberMaskingFilter(logging.Filter):
    """Rewrites each record's message with card numbers masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = card_numbers_mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = card_numbers_mask(text)
        return True
