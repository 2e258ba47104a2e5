"""The webhook intake as a WSGI fast path in front of Django.

The endpoint needs none of the session, authentication, CSRF, messages or static-file middleware, and
those cost as much as the insert itself at webhook rates (bench/webhook_ingest.py). Requests to the
webhook path skip them; everything else goes to Django untouched. Django's request signals still fire,
so database connections are managed exactly as for any request."""

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.http.request import HttpHeaders

from integrations.webhook_intake import BODY_TOO_LARGE, IntakeAnswer, webhook_intake

logger = logging.getLogger(__name__)
WEBHOOK_PATH = "/webhooks/paytrace/"
StartResponse = Callable[..., Any]


def _refused(status: int, code: str, message: str) -> IntakeAnswer:
    return IntakeAnswer(status=status, body={"error": {"code": code, "message": message}})


def _intake(environ: dict[str, Any]) -> IntakeAnswer:
    declared = environ.get("CONTENT_LENGTH") or "0"
    if not (declared.isascii() and declared.isdigit()):  # runserver passes any value through
        return _refused(400, "invalid_request", "Content-Length must be a number of bytes")
    length = int(declared)
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return BODY_TOO_LARGE
    return webhook_intake(
        body=environ["wsgi.input"].read(length),
        headers=HttpHeaders(environ),
        remote_addr=environ.get("REMOTE_ADDR"),
    )


def webhook_fast_path(django_app: WSGIHandler) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != WEBHOOK_PATH or environ.get("REQUEST_METHOD") != "POST":
            return django_app(environ, start_response)
        request_started.send(sender=webhook_fast_path, environ=environ)
        try:
            answer = _intake(environ)
        except Exception:  # an unexpected failure answers 500 (the sender retries) and is logged
            logger.exception("webhook intake failed")
            answer = _refused(500, "server_error", "try again")
        finally:
            request_finished.send(sender=webhook_fast_path)
        payload = json.dumps(answer.body).encode()
        status = HTTPStatus(answer.status)
        start_response(
            f"{status.value} {status.phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    return application
