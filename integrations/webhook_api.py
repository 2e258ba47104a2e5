"""The PayTrace webhook endpoint as a DRF view: the signature is its authentication, the event its parsed
body; the handler stores the event and answers. Processing happens in the inbox drain.

Under gunicorn the same steps are served by `integrations/webhook_wsgi.py` ahead of Django; this view
serves them everywhere else (runserver, tests) and answers in the same shapes."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.utils.decorators import method_decorator
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.webhook_intake import (
    BODY_TOO_LARGE,
    SIGNATURE_HEADER,
    PayloadError,
    SignatureError,
    intake_error,
    webhook_event_receive,
    webhook_payload_parse,
    webhook_payload_refused,
    webhook_receipt_answer,
    webhook_signature_check,
    webhook_signature_refused,
)


class SignatureRefused(exceptions.AuthenticationFailed):
    def __init__(self, error: SignatureError):
        super().__init__(str(error))
        self.answer = webhook_signature_refused(error)


class PayloadRefused(exceptions.ParseError):
    def __init__(self, error: PayloadError):
        super().__init__(error.message)
        self.answer = webhook_payload_refused(error)


class PayTraceSignatureAuthentication(BaseAuthentication):
    """`PayTrace-Signature: t=<unix seconds>,v1=<hex>`, an HMAC of the raw body with our secret. The
    sender is no user of ours: a verified request is anonymous, and a bad signature answers 401."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, str]:
        try:
            webhook_signature_check(body=request.body, headers=request.headers)
        except SignatureError as exc:
            raise SignatureRefused(exc) from None
        return AnonymousUser(), request.headers[SIGNATURE_HEADER]

    def authenticate_header(self, request: Request) -> str:
        return SIGNATURE_HEADER


class PayTraceEventParser(BaseParser):
    """The event envelope, validated against the declared event types. Relays send it with any content
    type, so any is taken."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, Any]:
        try:
            return webhook_payload_parse(stream.read())
        except PayloadError as exc:
            raise PayloadRefused(exc) from None


def _webhook_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The fast path's shapes: `{"error": {"code", "message", "field"?}}` with the same codes."""
    if isinstance(exc, SignatureRefused | PayloadRefused):
        answer = exc.answer
    elif isinstance(exc, RequestDataTooBig):
        answer = BODY_TOO_LARGE
    elif isinstance(exc, exceptions.APIException):
        answer = intake_error(exc.status_code, exc.default_code, str(exc.detail))
    else:
        return None
    return Response(answer.body, status=answer.status)


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class PayTraceWebhookApi(APIView):
    authentication_classes = [PayTraceSignatureAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [PayTraceEventParser]
    # Not part of the storefronts' API: the OpenAPI schema documents what they call.
    schema = None

    def get_exception_handler(self):
        return _webhook_exception_handler

    def post(self, request: Request) -> Response:
        payload = request.data
        receipt = webhook_event_receive(
            payload=payload,
            body=request.body,
            headers=request.headers,
            remote_addr=request.META.get("REMOTE_ADDR"),
        )
        answer = webhook_receipt_answer(payload=payload, receipt=receipt)
        return Response(answer.body, status=answer.status)
