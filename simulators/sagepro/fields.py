"""Parsing one incoming record (a gateway JSON object or a grouped import row) into typed values.

Both the REST views and the CSV importer hand the services the same upper-case dicts, so validation
and its error messages are written once, here.
"""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any


class SproError(Exception):
    """A refusal in the gateway's own terms: becomes `{"error": {code, message, field}}` or a result row."""

    def __init__(self, code: str, message: str, *, field: str = "", status: int = 422):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field}


def text(
    data: dict[str, Any], name: str, *, max_length: int, required: bool = False, default: str = ""
) -> str:
    value = data.get(name)
    value = default if value is None else str(value).strip()
    if required and not value:
        raise SproError("REQUIRED", f"{name} is required", field=name)
    if len(value) > max_length:
        raise SproError("TOO_LONG", f"{name} is longer than {max_length} characters", field=name)
    return value


def decimal(data: dict[str, Any], name: str, *, required: bool = True, places: int = 2) -> Decimal:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise SproError("REQUIRED", f"{name} is required", field=name)
        return Decimal("0")
    if isinstance(value, float):
        # JSON is parsed with parse_float=Decimal; a float here means a caller bypassed that.
        raise SproError("INVALID_NUMBER", f"{name} must be a decimal string", field=name)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise SproError("INVALID_NUMBER", f"{name} is not a number: {value!r}", field=name) from None
    if not number.is_finite() or number != number.quantize(Decimal(1).scaleb(-places)):
        raise SproError("INVALID_NUMBER", f"{name} has more than {places} decimals: {value}", field=name)
    return number


def positive(data: dict[str, Any], name: str, *, places: int = 2) -> Decimal:
    number = decimal(data, name, places=places)
    if number <= 0:
        raise SproError("INVALID_AMOUNT", f"{name} must be greater than zero", field=name)
    return number


def day(data: dict[str, Any], name: str) -> date:
    value = text(data, name, max_length=10, required=True)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SproError("INVALID_DATE", f"{name} must be YYYY-MM-DD, got {value!r}", field=name) from None


def rows(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise SproError("INVALID_LINES", f"{name} must be a list of objects", field=name)
    return value
