"""Serializer fields for text a storefront writes freely: card numbers are masked as the text comes in.

The API's one choke point for card data: every free-text input field is one of these, so a card number
typed into a line description, a city or a phone number is never validated, stored, sent to an ERP or
logged. Identifiers (order id, SKU, ids) are pattern-checked fields instead, never masked: their patterns
keep a card number's separators out, and masking one could make two orders one."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.pci import card_numbers_mask

COUNTRY_PATTERN = r"^([A-Za-z]{2})?$"


class _TextOnly:
    """A JSON string only: DRF's CharField would take 0 or 1.5 and store "0", which the schema (type:
    string) says is refused."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class _CardNumberMasking(_TextOnly):
    def to_internal_value(self, data: Any) -> str:
        return card_numbers_mask(super().to_internal_value(data))


class FreeTextField(_CardNumberMasking, serializers.CharField):
    pass


class FreeTextEmailField(_CardNumberMasking, serializers.EmailField):
    pass


class PatternField(_TextOnly, serializers.RegexField):
    """An identifier (order id, SKU, currency, ids): a string matching its pattern."""


@extend_schema_field({"type": "string", "pattern": COUNTRY_PATTERN})
class CountryField(serializers.Field):
    """ISO 3166-1 alpha-2, or blank when not given. Not a CharField: drf-spectacular documents a blank
    CharField as a `oneOf` (or a `minLength: 1`) that contradicts the blank default; here one pattern
    takes both, so the schema's default is valid against the schema."""

    default_error_messages = {"invalid": "Two letters (ISO 3166-1 alpha-2), or blank."}

    def __init__(self, **kwargs: Any):
        super().__init__(required=False, default="", **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not re.fullmatch(COUNTRY_PATTERN, data):
            self.fail("invalid")
        return data.upper()

    def to_representation(self, value: str) -> str:
        return value


class UnsignedDecimalField(serializers.DecimalField):
    """A quantity or an amount a storefront sends: never negative (`min_value` is 0 or more). Documented
    with a pattern of its own digits and no sign, where DRF's would offer "-16." as an example."""

    def __init__(self, *, min_value: Decimal, **kwargs: Any):
        if min_value < 0:
            raise ValueError("UnsignedDecimalField takes a min_value of 0 or more")
        super().__init__(min_value=min_value, **kwargs)


class UnsignedDecimalFieldSchema(OpenApiSerializerFieldExtension):
    target_class = UnsignedDecimalField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        whole, places = field.max_digits - field.decimal_places, field.decimal_places
        # A JSON number is taken too (as DRF does), so both are documented.
        return {
            "oneOf": [
                {
                    "type": "string",
                    "format": "decimal",
                    "pattern": rf"^\d{{1,{whole}}}(\.\d{{1,{places}}})?$",
                },
                {
                    "type": "number",
                    "minimum": float(field.min_value),
                    "multipleOf": float(Decimal(1).scaleb(-places)),
                },
            ],
            "description": f"At least {field.min_value}",
        }
