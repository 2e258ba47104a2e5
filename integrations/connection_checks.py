"""Test connections: call each outside system with the stored credentials and keep the outcome on the row.

The outcome is a status and a short classified reason (`integrations.check_reasons`), never what the other
side answered: see there why."""

import ssl
from collections.abc import Iterable, Iterator

from django.utils import timezone

from integrations.check_reasons import (
    AUTHENTICATION_REFUSED,
    CREDENTIALS_MISSING,
    DROP_FOLDER_UNUSABLE,
    EXPORT_MISSING,
    OK,
    TLS_UNTRUSTED,
    UNEXPECTED_ANSWER,
    UNREACHABLE,
)
from integrations.http import TransportError
from integrations.models import Connection, System
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceAuthenticationError
from integrations.sage.base import ConnectionCheck, ErpError
from integrations.sage.registry import connector_for

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


def _paytrace_probe(connection: Connection, *, sign_in: bool) -> ConnectionCheck:
    """The unauthenticated ping says PayTrace is reachable; a fresh login and a one-day batch export say
    the credentials work and the account may read reports (what the sync needs)."""
    try:
        client = PayTraceClient.from_connection(connection)
    except KeyError:
        return ConnectionCheck(ok=False, message=CREDENTIALS_MISSING)
    if not client.ping():
        return ConnectionCheck(ok=False, message=UNEXPECTED_ANSWER)
    if sign_in:
        client.authenticate()
        today = timezone.localdate()
        client.batches_export(start_date=today, end_date=today)
    return ConnectionCheck(ok=True, message=OK)


def _erp_probe(connection: Connection) -> ConnectionCheck:
    result = connector_for(connection).connection_test()
    if result.ok:
        return ConnectionCheck(ok=True, message=OK)
    reason = failure_reason(error=result.error) if result.error else UNEXPECTED_ANSWER
    return ConnectionCheck(ok=False, message=reason)


def connection_probe(*, connection: Connection, sign_in: bool = True) -> ConnectionCheck:
    """Call `connection`'s system; never raises, stores nothing. The ERPs always sign on; `sign_in=False`
    asks PayTrace only its ping, so a health check polled every few seconds does not log in each time."""
    try:
        if connection.system == System.PAYTRACE:
            return _paytrace_probe(connection, sign_in=sign_in)
        return _erp_probe(connection)
    except Exception as exc:  # noqa: BLE001 - a failed check is an answer, not a crash
        return ConnectionCheck(ok=False, message=failure_reason(error=exc))


def connection_check(*, connection: Connection) -> ConnectionCheck:
    """Probe `connection` and keep the status and reason on its row."""
    check = connection_probe(connection=connection)
    fields = {
        "last_checked_at": timezone.now(),
        "last_check_ok": check.ok,
        "last_check_message": check.message,
    }
    Connection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    return check


def connections_check(*, connections: Iterable[Connection]) -> list[tuple[Connection, ConnectionCheck]]:
    return [(connection, connection_check(connection=connection)) for connection in connections]
