"""The slice of OData the Sage 300 Web API serves: `$filter`, `$select`, `$top`/`$skip`, `$count`,
server-driven paging with a next link, and entry keys such as `ARCustomers('1200')` or
`ARReceiptAndAdjustmentBatches(BatchRecordType='CA',BatchNumber=65)`.

`$filter` takes what the Developer Reference documents and nothing more (its operator and function
tables, in tests/contracts/data/sage300/developer_reference_examples.json): the operators `eq ne gt lt le`
joined by `and` / `or` (it lists no `ge` and no `not`), the functions `substringof startswith endswith
length`, and literals `'text'`, `99.99m`, `datetime'2015-12-31T12:00'`, plus the bare ISO date-time the
Postman collection's complex filter uses (`DateOfLastInvoice gt 2016-12-31T12:00:00Z`). Anything else is
refused with InvalidParameters, so a client cannot come to rely on what Sage 300 may not do. String
comparisons are case-sensitive: Sage 300 company databases use a binary collation.
"""

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from simulators.sage300.errors import WebApiError

Record = dict[str, Any]
Predicate = Callable[[Record], Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<datetime>datetime'[^']*')
      | (?P<isodatetime>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?[mMdDlLfF]?)(?![\w.])
      | (?P<punct>[(),])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "substringof": (2, lambda needle, haystack: str(needle) in str(haystack or "")),
    "startswith": (2, lambda haystack, prefix: str(haystack or "").startswith(str(prefix))),
    "endswith": (2, lambda haystack, suffix: str(haystack or "").endswith(str(suffix))),
    "length": (1, lambda value: len(str(value or ""))),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+)?(Z|[+-]\d{2}:\d{2})?$")


def invalid_parameters(message: str) -> WebApiError:
    return WebApiError(400, "InvalidParameters", message)


def _as_datetime(value: Any) -> Any:
    if isinstance(value, str) and _ISO_DATE.match(value):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=None)
    return value


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare dates as dates (a record's `2026-01-05T00:00:00Z` against a literal `datetime'2026-01-05'`)
    and numbers as decimals; everything else as it is."""
    if isinstance(left, datetime) or isinstance(right, datetime):
        return _as_datetime(left), _as_datetime(right)
    if isinstance(right, Decimal) and isinstance(left, int | Decimal) and not isinstance(left, bool):
        return Decimal(left), right
    if isinstance(left, Decimal) and isinstance(right, int | Decimal) and not isinstance(right, bool):
        return left, Decimal(right)
    return left, right


class _FilterParser:
    def __init__(self, text: str):
        self.tokens = self._tokenize(text)
        self.position = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if not match:
                raise invalid_parameters(f"Syntax error at position {position} in '{text}'.")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (expected is not None and token[1] != expected):
            raise invalid_parameters(f"Expected {expected or 'a term'} in $filter.")
        self.position += 1
        return token

    def _keyword(self, *words: str) -> str | None:
        token = self._peek()
        if token and token[0] == "name" and token[1] in words:
            self.position += 1
            return token[1]
        return None

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek() is not None:
            raise invalid_parameters(f"Unexpected '{self._peek()[1]}' in $filter.")
        return predicate

    def _or(self) -> Predicate:
        left = self._and()
        while self._keyword("or"):
            right = self._and()
            left = (lambda a, b: lambda r: bool(a(r)) or bool(b(r)))(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._comparison()
        while self._keyword("and"):
            right = self._comparison()
            left = (lambda a, b: lambda r: bool(a(r)) and bool(b(r)))(left, right)
        return left

    def _comparison(self) -> Predicate:
        left = self._operand()
        operator = self._keyword(*_COMPARISONS)
        if operator is None:
            token = self._peek()
            if token and token[0] == "name" and token[1] not in ("and", "or"):
                raise invalid_parameters(f"The operator '{token[1]}' is not supported.")
            return left
        right = self._operand()
        compare = _COMPARISONS[operator]
        return lambda r: compare(*_coerce(left(r), right(r)))

    def _operand(self) -> Predicate:
        kind, text = self._take()
        if text == "(":
            inner = self._or()
            self._take(")")
            return inner
        if kind == "string":
            value = text[1:-1].replace("''", "'")
            return lambda r: value
        if kind in ("datetime", "isodatetime"):
            try:
                moment = _as_datetime(text[9:-1] if kind == "datetime" else text)
            except ValueError:
                moment = None
            if not isinstance(moment, datetime):
                raise invalid_parameters(f"Invalid datetime literal {text}.")
            return lambda r: moment
        if kind == "number":
            try:
                number = Decimal(text.rstrip("mMdDlLfF"))
            except InvalidOperation:
                raise invalid_parameters(f"Invalid number {text}.") from None
            return lambda r: number
        if kind != "name":
            raise invalid_parameters(f"Unexpected '{text}' in $filter.")
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            constant = literals[text]
            return lambda r: constant
        if text == "not":
            raise invalid_parameters("The operator 'not' is not supported.")
        if self._peek() == ("punct", "("):
            return self._function(text)
        return lambda r: r.get(text)

    def _function(self, name: str) -> Predicate:
        if name not in _FUNCTIONS:
            raise invalid_parameters(f"The function '{name}' is not supported.")
        arity, function = _FUNCTIONS[name]
        self._take("(")
        arguments = [self._or()]
        while self._peek() == ("punct", ","):
            self._take(",")
            arguments.append(self._or())
        self._take(")")
        if len(arguments) != arity:
            raise invalid_parameters(f"'{name}' takes {arity} argument(s).")
        return lambda r: function(*(argument(r) for argument in arguments))


def filter_compile(text: str) -> Predicate:
    return _FilterParser(text).parse()


def key_parse(text: str) -> dict[str, str] | list[str]:
    """`'1200'` -> ['1200']; `BatchRecordType='CA',BatchNumber=65` -> {'BatchRecordType': 'CA', ...}."""
    parts = re.findall(r"(?:[^,']|'(?:[^']|'')*')+", text)
    named: dict[str, str] = {}
    positional: list[str] = []
    for part in parts:
        name, _, value = part.partition("=") if re.match(r"^\s*\w+\s*=", part) else ("", "", part)
        value = value.strip()
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            value = value[1:-1].replace("''", "'")
        if name:
            named[name.strip()] = value
        else:
            positional.append(value)
    if named and positional:
        raise WebApiError(400, "InvalidEntityKey", f"Invalid key ({text}).")
    return named or positional


def select_apply(record: Record, select: str) -> Record:
    if not select:
        return record
    fields = [name.strip() for name in select.split(",") if name.strip()]
    return {name: record[name] for name in fields if name in record}


def _link(base_url: str, params: dict[str, str]) -> str:
    query = "&".join(f"{name}={quote(value, safe=chr(39) + '(),')}" for name, value in params.items())
    return f"{base_url}?{query}" if query else base_url


def feed_build(
    *,
    records: list[Record],
    params: dict[str, str],
    base_url: str,
    context: str,
    page_size: int,
    legacy: bool,
) -> dict[str, Any]:
    """Filter, count, page and project `records` the way the Web API does: at most `page_size` per
    answer (the Developer Reference's default is 100), the rest behind a next link that carries `$skip`
    (and what is left of `$top`). Older servers answer `odata.context` / `odata.count` (a string, as
    the Developer Reference's feed example prints it); newer ones the `@odata.` names."""
    if params.get("$filter"):
        predicate = filter_compile(params["$filter"])
        records = [record for record in records if predicate(record)]
    try:
        skip = int(params.get("$skip") or 0)
        top = int(params["$top"]) if params.get("$top") else None
    except ValueError:
        raise invalid_parameters("$skip and $top take whole numbers.") from None
    total = len(records)
    wanted = total - skip if top is None else min(top, max(total - skip, 0))
    page = records[skip : skip + min(wanted, page_size)]
    prefix = "odata." if legacy else "@odata."
    feed: dict[str, Any] = {f"{prefix}context": context}
    if params.get("$count") == "true":
        # Older servers sent the count as a string (the Developer Reference shows "odata.count":"625").
        feed[f"{prefix}count"] = str(total) if legacy else total
    feed["value"] = [select_apply(record, params.get("$select", "")) for record in page]
    if wanted > len(page):
        following = dict(params, **{"$skip": str(skip + len(page))})
        if top is not None:
            following["$top"] = str(top - len(page))
        feed[f"{prefix}nextLink"] = _link(base_url, following)
    return feed
