"""Serializer fields for text a storefront writes freely: card numbers are masked as the text comes in.

The API's one choke point for card data: every free-text input field is one of these, so a card number
typed into a line description, a city or a phone number is never validated, stored, sent to an ERP or
logged. Identifiers (order id, SKU, ids) are pattern-checked fields instead, never masked: their patterns
keep a card number's separators out, and masking one could make two orders one."""

from typing import Any

from rest_framework import serializers

from portal.pci import card_numbers_mask


class _CardNumberMasking:
    def to_internal_value(self, data: Any) -> str:
        return card_numbers_mask(super().to_internal_value(data))  # type: ignore[misc]


class FreeTextField(_CardNumberMasking, serializers.CharField):
    pass


class FreeTextEmailField(_CardNumberMasking, serializers.EmailField):
    pass
