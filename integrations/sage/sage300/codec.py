"""JSON with exact decimals, as the Sage 300 Web API speaks it: amounts are JSON numbers, never strings,
and we never let them pass through a float (310.40 must travel as 310.40, not 310.39999).

Both sides of the wire use it: the connector to write and read payloads, and the Sage 300 simulator to
answer like the real server."""

import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\u0000dec:"
_MARKED = re.compile(r'"\\u0000dec:(-?\d+(?:\.\d+)?)"')


class DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return f"{_MARK}{o:f}"
        return super().default(o)

    def encode(self, o: Any) -> str:
        # Decimals were written as marked strings by `default`; unquote them into bare JSON numbers.
        return _MARKED.sub(r"\1", super().encode(o))


class DecimalDecoder(json.JSONDecoder):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


def dumps(value: Any) -> str:
    return json.dumps(value, cls=DecimalEncoder)


def loads(text: str | bytes) -> Any:
    return json.loads(text, cls=DecimalDecoder)
