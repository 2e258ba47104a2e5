"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"?}}."""

from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    ValidationError as DjangoValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    def __init__(
        self, message: str, *, code: str = "error", status_code: int = 400, extra: dict | None = None
    ):
        super().__init__(message)
        self.message, self.code, self.status_code, self.extra = message, code, status_code, extra or {}


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "too_large"


def error_body(*, code: str, message: str, fields: Any = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    error.update(extra)
    return {"error": error}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(code=exc.code, message=exc.message, **exc.extra), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # Django's HTML 400 otherwise
        exc = BodyTooLarge()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(code="invalid", message="The request is not valid.", fields=response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(code=str(code), message=str(detail))
    response.data = body
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and getattr(exc, "wait", None):
        response.data["error"]["retry_after_seconds"] = int(exc.wait)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: an /api/ caller gets the API's JSON error shape, never the HTML page (which
    the API's own exception handler cannot cover: it only sees exceptions DRF knows)."""
    if request.path.startswith("/api/"):
        body = error_body(code="server_error", message="Something went wrong on our side; it was logged.")
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler400 (a request Django itself refuses, e.g. a body over the upload limit read before
    the API's views), in the API's JSON error shape for /api/ callers."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                error_body(code=BodyTooLarge.default_code, message=str(BodyTooLarge.default_detail)),
                status=BodyTooLarge.status_code,
            )
        return JsonResponse(error_body(code="invalid", message="The request is not valid."), status=400)
    return defaults.bad_request(request, exception)
