"""The error body every operation documents, and the error responses they share."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: invalid, not_found, conflict, throttled…")
    message = serializers.CharField()
    fields = serializers.JSONField(
        required=False,
        help_text="For `invalid`: the request's shape, each bad field holding its messages",
    )
    retry_after_seconds = serializers.IntegerField(required=False, help_text="For `throttled`")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


# Every operation can answer these.
COMMON_ERRORS = {
    401: error("No token, or not a valid one (`Authorization: Token <key>`)"),
    403: error("The token's user lacks the permission this operation needs"),
    429: error("Over the per-token request budget; retry after `retry_after_seconds`"),
}
