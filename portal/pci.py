"""PCI guards: find and mask anything shaped like a card number before it is written anywhere.

What counts as a card number: any 13 to 19 consecutive digits of a *digit group* that pass Luhn and do not
start with 0 (no payment card number does). A digit group is a run of digits that may be split by up to
three spaces or dashes between any two digits (`+`, `%20` and `%2D`, as URLs write them, count too), so
`4111 1111 1111 1111`, `4111-1111-1111-1111`, `q=4111+1111+1111+1111`, a number glued to other digits
(`994111111111111111`) or followed by its security code (`4111111111111111 123`) are all found: every
window of the group is tried, not only the whole group.

The trade-off is deliberate, PCI wins over false positives. Of random digit groups that are not cards, about
1 in 10 of 13 digits is masked, 1 in 4 of 14, 2 in 3 of 16 and nearly all of 19 or more: long numeric order
ids, tracking numbers and dates run together get masked. Amounts, dates and times stay as they are: their
dots, slashes and colons end a group. Digits run into a hex digest of 32 characters or more are part of the
digest, not a card (SHA-256 hashes and signatures are stored and shown as they are).

In a group that holds a card, every digit is masked but the last four of each card found: the digits
around it are as likely to be its security code or expiry date as anything else."""

import logging
import logging.config
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

MIN_DIGITS, MAX_DIGITS = 13, 19
# Past this many digits a group is masked whole (but its last four): trying every window would cost more
# than it could protect, and nearly every digit of such a run lies in some Luhn-valid window anyway.
LONG_GROUP_DIGITS = 100
# Any whitespace, the hyphen, the Unicode dashes and minus sign, and a space or dash as a URL writes it
# (`+`, `%20`, `%2D`: an admin search for a card number reaches the access log as `q=4111+1111+...`);
# at most three between two digits.
_URL_SEPARATOR = r"%(?:20|2[dD]|09)"
_SEPARATOR = rf"(?:[\s\-\u2010-\u2015\u2212+]|{_URL_SEPARATOR})"
_GROUP = re.compile(rf"(?:\d{_SEPARATOR}{{0,3}}){{{MIN_DIGITS - 1},}}\d")
# A group's digits, the digits of its URL-encoded separators left out.
_GROUP_DIGIT = re.compile(rf"{_URL_SEPARATOR}|(\d)")
# For a quick look at raw ASCII bytes (`json_payload_redact`): digits to "0", separators to " ", all else to
# "x". With the separators then removed, a digit group of 13 becomes 13 zeros in a row.
_BYTES_CLASSES = bytes(
    ord("0") if chr(byte).isdigit() else ord(" ") if chr(byte) in " \t\n\r\x0b\x0c-+%" else ord("x")
    for byte in range(256)
)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_DIGEST_LENGTH = 32
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
MASK = "*"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = _DOUBLED[value]
        total += value
    return total % 10 == 0


def _luhn_windows(digits: list[int]) -> list[tuple[int, int]]:
    """Every [start, end) of 13-19 digits, not starting with 0, that passes Luhn. The digit at k is doubled
    when its distance to the window's last digit is odd, i.e. when k's parity differs from that digit's:
    two prefix sums, one per parity of the last digit, give each window's checksum at once."""
    sums: tuple[list[int], list[int]] = ([0], [0])
    for parity, acc in enumerate(sums):
        for index, digit in enumerate(digits):
            acc.append(acc[-1] + (_DOUBLED[digit] if index % 2 != parity else digit))
    windows = []
    for end in range(MIN_DIGITS, len(digits) + 1):
        acc = sums[(end - 1) % 2]
        for start in range(max(0, end - MAX_DIGITS), end - MIN_DIGITS + 1):
            if digits[start] and (acc[end] - acc[start]) % 10 == 0:
                windows.append((start, end))
    return windows


def _cards_chosen(windows: list[tuple[int, int]], *, chunk_edges: set[int]) -> list[tuple[int, int]]:
    """Overlapping windows are one card seen several ways (`4111111111111111 123` also holds the Luhn-valid
    `1111111111112`): keep the window best aligned with the group's own spaces and dashes, then the
    longest, then the first, so the last four shown are the card's and not its security code."""

    def rank(window: tuple[int, int]) -> tuple[int, int, int]:
        start, end = window
        return (-((start in chunk_edges) + (end in chunk_edges)), start - end, start)

    chosen: list[tuple[int, int]] = []
    for start, end in sorted(windows, key=rank):
        if all(end <= other_start or start >= other_end for other_start, other_end in chosen):
            chosen.append((start, end))
    return sorted(chosen)


def _inside_digest(text: str, start: int, end: int) -> bool:
    """True when the digits at [start, end) are glued to hex letters making one hex word of 32+ characters."""
    left, right = start, end
    while left > 0 and text[left - 1] in _HEX_DIGITS:
        left -= 1
    while right < len(text) and text[right] in _HEX_DIGITS:
        right += 1
    if (left, right) == (start, end) or right - left < _DIGEST_LENGTH:
        return False
    return not (left > 0 and text[left - 1].isalnum()) and not (right < len(text) and text[right].isalnum())


def _group_digits(group: str) -> list[int]:
    """Where the group's digits are (the digits of a `%20` are not the number's)."""
    return [match.start() for match in _GROUP_DIGIT.finditer(group) if match.group(1)]


def _group_cards(
    text: str, match: re.Match, positions: list[int]
) -> tuple[str, list[tuple[int, int]]] | None:
    """The group's digits and the cards found in it, as [start, end) digit indexes; None when none."""
    group = match.group()
    digits = "".join(group[position] for position in positions)
    if len(digits) > LONG_GROUP_DIGITS:
        return digits, [(0, len(digits))]
    if len(digits) == len(group) and _inside_digest(text, match.start(), match.end()):
        return None
    windows = _luhn_windows([int(digit) for digit in digits])
    if not windows:
        return None
    # Where the group's own spaces and dashes split it.
    edges = {0, len(digits)} | {
        index for index in range(1, len(positions)) if positions[index] != positions[index - 1] + 1
    }
    return digits, _cards_chosen(windows, chunk_edges=edges)


def card_numbers_find(text: str) -> list[str]:
    """The card numbers in `text`, digits only (a very long group counts as one)."""
    found = []
    for match in _GROUP.finditer(text):
        cards = _group_cards(text, match, _group_digits(match.group()))
        if cards is not None:
            digits, windows = cards
            found.extend(digits[start:end] for start, end in windows)
    return found


def _group_masked(text: str, match: re.Match) -> str:
    """Each card as one run, its own separators dropped (`************1111`); every other digit of the
    group masked, separators kept."""
    positions = _group_digits(match.group())
    cards = _group_cards(text, match, positions)
    if cards is None:
        return match.group()
    digits, windows = cards
    chars = list(match.group())
    inside = {index for start, end in windows for index in range(start, end)}
    for index, position in enumerate(positions):
        if index not in inside:
            chars[position] = MASK
    for start, end in reversed(windows):
        chars[positions[start] : positions[end - 1] + 1] = [MASK * (end - start - 4) + digits[end - 4 : end]]
    return "".join(chars)


def card_numbers_mask(text: str) -> str:
    return _GROUP.sub(lambda match: _group_masked(text, match), text)


SECRET_KEYS = frozenset(
    {
        "number",
        "card_number",
        "encrypted_number",
        "csc",
        "encrypted_csc",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "security_code",
        "pan",
        "track1",
        "track2",
        "track_data",
        "account_number",
        "routing_number",
        "direct_deposit_account",
        "transit_routing_number",
        "iban",
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
REDACTED = "[redacted]"


def _key_normalise(key: str) -> str:
    """`accountNumber`, `Account-Number` and `account_number` are one key."""
    return re.sub(r"[^0-9a-z]", "", key.lower())


_SECRET_KEYS_NORMALISED = frozenset(_key_normalise(key) for key in SECRET_KEYS)


@lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    return _key_normalise(key) in _SECRET_KEYS_NORMALISED


def secret_key(key: Any) -> bool:
    return _secret_key(key if isinstance(key, str) else str(key))


def _number_masked(value: int | Decimal) -> int | Decimal | str:
    """A card number sent as a JSON number is masked like text (and becomes text)."""
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    masked = card_numbers_mask(text)
    return value if masked == text else masked


def redact(value: Any) -> Any:
    """Deep copy of a request/response snapshot with secrets replaced and card numbers masked."""
    if isinstance(value, dict):
        return {
            redact(key): (REDACTED if secret_key(key) and val not in (None, "") else redact(val))
            for key, val in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return card_numbers_mask(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return _number_masked(value)
    return value


def _secret_key_present(value: Any) -> bool:
    if isinstance(value, dict):
        return any(secret_key(key) or _secret_key_present(val) for key, val in value.items())
    if isinstance(value, list):
        return any(_secret_key_present(item) for item in value)
    return False


def json_payload_redact(*, payload: Any, body: bytes) -> Any:
    """`redact(payload)` for a payload parsed from `body`, skipped when `body` cannot hold anything to
    redact: plain ASCII without escapes (an escape or a Unicode digit or dash could hide a card from a
    bytes test), no 13 digits in a row once separators are dropped, and no secret key among the keys.
    The usual webhook costs a few C-speed passes over its body and a walk over its keys."""
    if body.isascii() and b"\\" not in body:
        digits = body.translate(_BYTES_CLASSES).replace(b" ", b"")
        if b"0" * MIN_DIGITS not in digits and not _secret_key_present(payload):
            return payload
    return redact(payload)


def log_record_mask(record: logging.LogRecord) -> None:
    """Rewrite a record's message (and its exception and stack text) with card numbers masked."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not escape unmasked through handleError
        message = f"{record.msg} {record.args}"
    masked = card_numbers_mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_text:  # already formatted (by a handler, or masked by the record factory)
        record.exc_text = card_numbers_mask(record.exc_text)
    elif record.exc_info and record.exc_info[1] is not None:
        record.exc_text = card_numbers_mask(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = card_numbers_mask(record.stack_info)


class CardNumberMaskingFilter(logging.Filter):
    """Rewrites each record's message with card numbers masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        log_record_mask(record)
        return True


class _MaskingRecordFactory:
    """Masks every record as it is made, whichever logger it comes from and whichever handler (ours, a
    library's, gunicorn's access log) will write it."""

    def __init__(self, inner: Any):
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        log_record_mask(record)
        return record


def logging_configure(config: dict[str, Any]) -> None:
    """LOGGING_CONFIG: the settings' dictConfig, then the masking record factory for the whole process."""
    logging.config.dictConfig(config)
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _MaskingRecordFactory):
        logging.setLogRecordFactory(_MaskingRecordFactory(factory))
