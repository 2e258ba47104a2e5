"""The short, fixed reasons a connection test or health check may give, and how a failure maps to one.

A connection's base URL points wherever an integration admin typed, so what a check says must never carry
what the other side sent (its body is attacker-chosen and may be an internal page) nor tell an open port
from a closed one: a refused, reset or timed-out connection, a name that does not resolve, a handshake
with something that is not TLS and an answer that is not HTTP all read "unreachable". Only an HTTP answer
(its status, never its body) or a TLS certificate that is not trusted is told apart, because those are
what an admin needs to fix the connection.
"""

import ssl
from collections.abc import Iterator

from integrations.http import TransportError
from integrations.paytrace.errors import PayTraceAuthenticationError
from integrations.sage.base import ErpError

OK = "ok"
AUTHENTICATION_REFUSED = "authentication refused"
CREDENTIALS_MISSING = "credentials missing"
UNREACHABLE = "unreachable"
TLS_UNTRUSTED = "TLS error (certificate not trusted)"
UNEXPECTED_ANSWER = "unexpected answer"
DROP_FOLDER_UNUSABLE = "drop folder not usable"
EXPORT_MISSING = "no Sage Pro export yet"

# Every fixed reason; an HTTP status adds "unexpected answer (HTTP nnn)", which the database also accepts.
FIXED_REASONS = (
    OK,
    AUTHENTICATION_REFUSED,
    CREDENTIALS_MISSING,
    UNREACHABLE,
    TLS_UNTRUSTED,
    UNEXPECTED_ANSWER,
    DROP_FOLDER_UNUSABLE,
    EXPORT_MISSING,
)
HTTP_ANSWER_PATTERN = r"^unexpected answer \(HTTP [1-5][0-9][0-9]\)$"
AUTHENTICATION_STATUSES = frozenset({401, 403})
# Raised by the Sage Pro CSV drop itself (a local folder, no HTTP status): our own codes, not a remote's.
LOCAL_ERROR_REASONS = {"DROP_FOLDER": DROP_FOLDER_UNUSABLE, "EXPORT_MISSING": EXPORT_MISSING}


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it was raised from or while handling: a connector's error wraps our transport's,
    which wraps requests', which wraps urllib3's and the socket's or TLS library's."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def failure_reason(*, error: BaseException) -> str:
    causes = list(_causes(error))
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes):
        return TLS_UNTRUSTED
    if any(isinstance(cause, TransportError) for cause in causes):
        return UNREACHABLE
    status = getattr(error, "http_status", None)
    if isinstance(error, PayTraceAuthenticationError) or status in AUTHENTICATION_STATUSES:
        return AUTHENTICATION_REFUSED
    if status:
        return f"{UNEXPECTED_ANSWER} (HTTP {int(status)})"
    if isinstance(error, ErpError) and error.code in LOCAL_ERROR_REASONS:
        return LOCAL_ERROR_REASONS[error.code]
    return UNEXPECTED_ANSWER
