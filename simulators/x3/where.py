"""The SData `where` expressions api1 accepts, turned into a Django `Q` over the fields a class
serves: comparisons (eq ne gt ge lt le) of a property or `left(PROP, n)` with a literal
(`'text'`, `12.5`, `@2024-01-31@`, `@2024-01-31T10:00:00Z@`), combined by `and`/`or` and parentheses."""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<stamp>@[^@]*@)|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<punct>[(),]))"
)
_LOOKUPS = {"eq": "exact", "ne": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
_KEY_CONDITION = re.compile(r"^(?P<op>gt|ge|lt|le)\.(?P<key>.+)$")


class WhereError(ValueError):
    """A `where` X3 cannot evaluate; api1 answers these with HTTP 500."""


@dataclass(frozen=True)
class FieldSpec:
    path: str  # ORM lookup path
    kind: str  # str | decimal | int | date | datetime


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match:
            raise WhereError(f"Syntax error in where clause near '{text[position : position + 20]}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(token: tuple[str, str], spec: FieldSpec) -> Any:
    token_kind, text = token
    try:
        if spec.kind == "str" and token_kind == "str":
            return text[1:-1].replace("''", "'")
        if spec.kind in ("decimal", "int") and token_kind == "num":
            return Decimal(text) if spec.kind == "decimal" else int(text)
        if spec.kind == "date" and token_kind == "stamp":
            return date.fromisoformat(text.strip("@")[:10])
        if spec.kind == "datetime" and token_kind == "stamp":
            return datetime.fromisoformat(text.strip("@"))
    except (ValueError, InvalidOperation) as exc:
        raise WhereError(f"Invalid literal {text}") from exc
    raise WhereError(f"Literal {text} does not match the type of the property")


class _Parser:
    def __init__(self, text: str, fields: dict[str, FieldSpec]):
        self.tokens = _tokens(text)
        self.index = 0
        self.fields = fields

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (expected is not None and token[1].lower() != expected):
            raise WhereError(
                f"Syntax error in where clause: expected {expected or 'a term'}, got '{token[1]}'"
            )
        self.index += 1
        return token

    def field(self, name: str) -> FieldSpec:
        if name not in self.fields:
            raise WhereError(f"Property {name} does not exist")
        return self.fields[name]

    def expression(self) -> Q:
        result = self.term()
        while self.peek()[1].lower() == "or":
            self.take()
            result |= self.term()
        return result

    def term(self) -> Q:
        result = self.factor()
        while self.peek()[1].lower() == "and":
            self.take()
            result &= self.factor()
        return result

    def factor(self) -> Q:
        if self.peek()[1] == "(":
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        name = self.take()[1]
        width = None
        if name.lower() == "left":
            self.take("(")
            name = self.take()[1]
            self.take(",")
            width = int(self.take()[1])
            self.take(")")
        spec = self.field(name)
        operator = self.take()[1].lower()
        if operator not in _LOOKUPS:
            raise WhereError(f"Unknown operator {operator}")
        value = _literal(self.take(), spec)
        if width is not None:
            if operator != "eq" or spec.kind != "str":
                raise WhereError("left() is only compared with eq to a string")
            # left(F, n) eq 'x': a shorter x means F is x itself, a longer one never matches.
            if len(value) > width:
                return Q(pk__in=[])
            lookup = "startswith" if len(value) == width else "exact"
            return Q(**{f"{spec.path}__{lookup}": value})
        condition = Q(**{f"{spec.path}__{_LOOKUPS[operator]}": value})
        return ~condition if operator == "ne" else condition


def where_q(text: str, fields: dict[str, FieldSpec]) -> Q:
    if not text.strip():
        return Q()
    parser = _Parser(text, fields)
    result = parser.expression()
    if parser.peek()[0] != "end":
        raise WhereError(f"Syntax error in where clause near '{parser.peek()[1]}'")
    return result


def key_q(condition: str, key: list[FieldSpec]) -> Q:
    """api1's `key=<op>.<value>`: Sage's query page gives `key=gt.0143` ("the customers with a key greater
    than 0143"), used with `count` to page through a large result. A composite key's parts are joined by
    `~` and compared in order, the first part deciding."""
    match = _KEY_CONDITION.match(condition)
    values = match.group("key").split("~") if match else []
    if match is None or len(values) != len(key):
        raise WhereError(f"Invalid key condition {condition!r}")
    operator = match.group("op")
    strict = _LOOKUPS[operator[0] + "t"]  # ge -> gt, le -> lt: only the last part may be equal
    result = Q(**{f"{key[-1].path}__{_LOOKUPS[operator]}": values[-1]})
    for spec, value in reversed(list(zip(key[:-1], values[:-1], strict=True))):
        result = Q(**{f"{spec.path}__{strict}": value}) | (Q(**{spec.path: value}) & result)
    return result
