"""JSON as the simulated Web API writes and reads it: every amount is a bare JSON number carrying its
exact decimal digits (Sage's samples send `"ExtendedAmountWithTIP": 200`, `"AmountDue": 22.6`), so a
stored 310.40 is answered as 310.40 and never passes through a float.

The simulator's own code: it shares nothing with any client's codec, so a client that writes amounts
wrongly cannot be matched by a simulator that reads them the same wrong way."""

import json
from decimal import Decimal
from typing import Any


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} cannot be written as a JSON number")
    return format(value, "f")


def dumps(value: Any) -> str:
    """Serialise a record: dicts, lists, strings, booleans, None, ints and Decimals."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(name))}:{dumps(item)}" for name, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, float):
        # Floats never enter the simulator's records; should one slip in, keep its shortest exact text.
        return _number(Decimal(repr(value)))
    return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """Parse a body, reading every number with a fraction as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


class WireEncoder(json.JSONEncoder):
    """For the JSON columns that keep batches and orders in their wire shape (Django's JSONField calls
    `encode`)."""

    def encode(self, o: Any) -> str:
        return dumps(o)


class WireDecoder(json.JSONDecoder):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)
