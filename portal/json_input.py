"""JSON from outside (webhooks, API bodies, uploaded files), parsed so that no input can crash a worker.

`json.loads` alone answers some inputs with exceptions nobody catches: a document nested 100,000 levels
deep raises RecursionError, an integer of 5,000 digits raises a plain ValueError, bytes in UTF-16 are
silently accepted, and NaN / Infinity, `\\u0000` or a lone `\\ud800` parse into values PostgreSQL refuses
at insert time. `json_input_parse` turns each of them into one `JsonInputError` with a message a sender
can act on.
"""

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32  # our deepest documents (orders, mapping exports, PayTrace events) use fewer than 6 levels

# A JSON string, escapes included: its brackets are text, not nesting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]")
# One level of nesting: an empty array or object once everything inside it has been peeled off.
_INNERMOST = re.compile(r"\[\]|\{\}")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# NUL and unpaired surrogates: PostgreSQL stores neither in text nor in jsonb.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonInputError(ValueError):
    """The input is not a JSON text we accept; the message says why."""


def _depth_exceeds(text: str, *, max_depth: int) -> bool:
    """Whether brackets nest deeper than `max_depth`, found with a few regex passes in C instead of a
    recursive parse: each pass removes the innermost level, so `max_depth` passes empty any text that
    is shallow enough. Unbalanced brackets are left for the parser to report."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        brackets, removed = _INNERMOST.subn("", brackets)
        if not removed:
            return False
    return _INNERMOST.search(brackets) is not None


def _utf8_decode(raw: bytes) -> str:
    # UTF-16 shows as its byte order mark, or without one as NUL bytes between ASCII characters: both
    # are valid in no JSON text, and the NUL bytes would otherwise decode as UTF-8 and confuse the parser.
    wide = raw.startswith(_UTF16_BOMS) or b"\x00" in raw
    if not wide:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise JsonInputError(f"not UTF-8 text{' (this looks like UTF-16)' if wide else ''}; JSON must be UTF-8")


def _constant_refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unstorable(value: Any) -> bool:
    """Whether any key or string holds a character PostgreSQL refuses (depth is already bounded)."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


def json_input_parse(
    *, raw: bytes | str, max_depth: int = MAX_DEPTH, parse_float: Callable[[str], Any] = float
) -> Any:
    """Parse one JSON text: UTF-8 (a leading byte order mark is ignored), nested at most `max_depth`
    levels, without NaN, Infinity, NUL or lone surrogates. Raises JsonInputError, never anything else."""
    text = _utf8_decode(raw) if isinstance(raw, bytes) else raw
    if _depth_exceeds(text, max_depth=max_depth):
        raise JsonInputError(f"nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=_constant_refuse)
    except ValueError as exc:  # JSONDecodeError, NaN / Infinity, and the int() limit on 4,300 digits
        raise JsonInputError(str(exc)) from None
    except RecursionError:  # unbalanced brackets, which the depth check leaves to the parser, nested deep
        raise JsonInputError(f"nested deeper than {max_depth} levels") from None
    if _unstorable(value):
        raise JsonInputError("a string holds a NUL character or a lone UTF-16 surrogate")
    return value
