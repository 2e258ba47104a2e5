"""The base of every input serializer: a key the serializer does not declare is an error, never dropped.

A storefront that misspells a field (`region` for `state`) must hear so, not find the value lost after
a 201. Nested serializers are instances of the same base, so each level names its own unknown keys in
the error's `fields`, next to the other fields' messages. The schema says the same
(`additionalProperties: false`), so generated clients and the docs know it."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, Mapping):
            expected = ", ".join(self.fields)
            unknown = {
                str(key): [f"Unknown field: expected one of {expected}."]
                for key in data
                if key not in self.fields
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializerSchema(OpenApiSerializerExtension):
    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
