"""Outages: how every call a connection makes counts towards its health, and when that raises an alert.

All PayTrace and ERP calls go through `HttpTransport`, which tells this module each outcome (registered
from `IntegrationsConfig.ready()`). A call that gets no answer, answers 5xx, or refuses the credentials is
a failure; any other answer is a success (a 404 or a validation error means the system is up). A
connection whose calls fail with no success in between for longer than `CONNECTION_OUTAGE_ALERT_MINUTES`
raises one alert (email and webhook); the first success after it clears the state and raises a
"recovered" notice. Only the classified reason is kept (`integrations.check_reasons`), never what the
other side answered.

A transport knows its base URL, not its connection: the call belongs to the connections whose base URL
its own starts with (the longest match; connections sharing a base URL share a server, so they share its
health). Per process and base URL, an outcome like the last one written is written again only after
SUCCESS_WRITE_SECONDS (successes) or FAILURE_WRITE_SECONDS (failures), so busy workers do not write (and
queue on the connection's row) once per call; a change from success to failure or back, as this process
saw it for the connection, is written at once."""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.alerts import alert_raise
from integrations.check_reasons import AUTHENTICATION_REFUSED, UNEXPECTED_ANSWER
from integrations.connection_checks import failure_reason
from integrations.http import TransportError
from integrations.models import Alert, Connection

logger = logging.getLogger(__name__)
SUCCESS_WRITE_SECONDS = 30
FAILURE_WRITE_SECONDS = 5
_last_written: dict[str, tuple[bool, float]] = {}  # base URL -> (a success?, monotonic time) last written
_failing: set[int] = set()  # connections this process saw fail and has not yet seen work again


def call_outcome_reason(*, status: int | None, error: TransportError | None) -> str | None:
    """The classified reason a call failed, "" for a success, None for neither (throttled: the system is
    up but busy)."""
    if error is not None:
        return failure_reason(error=error)
    if status in (401, 403):
        return AUTHENTICATION_REFUSED
    if status == 429:
        return None
    if status is not None and status >= 500:
        return f"{UNEXPECTED_ANSWER} (HTTP {status})"
    return ""


def _connections_for(base_url: str) -> list[int]:
    url = base_url.rstrip("/")
    matches: dict[str, list[int]] = {}
    for pk, own in Connection.objects.values_list("pk", "base_url"):
        own = own.rstrip("/")
        if url == own or url.startswith(own + "/"):
            matches.setdefault(own, []).append(pk)
    return matches[max(matches, key=len)] if matches else []


def _write_due(base_url: str, ok: bool, clock: float) -> bool:
    last = _last_written.get(base_url)
    if last is None or last[0] != ok:
        return True
    return clock - last[1] >= (SUCCESS_WRITE_SECONDS if ok else FAILURE_WRITE_SECONDS)


def connection_call_observe(base_url: str, status: int | None, error: TransportError | None) -> None:
    """The `HttpTransport` call observer."""
    reason = call_outcome_reason(status=status, error=error)
    if reason is None:
        return
    ok, clock = reason == "", time.monotonic()
    due = _write_due(base_url, ok, clock)
    if not due and not (ok and _failing):
        return
    ids = _connections_for(base_url)
    # A success not yet due is still written at once for a connection this process saw failing.
    if not ids or (not due and not _failing.intersection(ids)):
        return
    _last_written[base_url] = (ok, clock)
    now = timezone.now()
    with transaction.atomic():  # a savepoint: a failure here never spoils the caller's transaction
        if ok:
            _failing.difference_update(ids)
            connections_succeeded(ids=ids, now=now)
        else:
            _failing.update(ids)
            connections_failed(ids=ids, reason=reason, now=now)


def _outage_minutes() -> timedelta:
    return timedelta(minutes=settings.CONNECTION_OUTAGE_ALERT_MINUTES)


def connections_failed(*, ids: list[int], reason: str, now: datetime) -> None:
    Connection.objects.filter(pk__in=ids).update(last_failure_at=now, last_failure_reason=reason)
    Connection.objects.filter(pk__in=ids, failing_since__isnull=True).update(failing_since=now)
    overdue = Connection.objects.filter(
        pk__in=ids, failing_since__lte=now - _outage_minutes(), outage_alerted_at__isnull=True
    )
    for connection in overdue:
        # Conditional, so of the workers failing at once only one raises the alert.
        if Connection.objects.filter(pk=connection.pk, outage_alerted_at__isnull=True).update(
            outage_alerted_at=now
        ):
            alert_raise(
                title=f"{connection.name} is down: {reason}",
                message=f"Calls to {connection.name} have failed since "
                f"{connection.failing_since:%Y-%m-%d %H:%M:%S %Z} with no success in between "
                f"(last: {reason}).",
                severity=Alert.Severity.CRITICAL,
                subject=connection,
            )


def connections_succeeded(*, ids: list[int], now: datetime) -> None:
    failing = list(Connection.objects.filter(pk__in=ids, failing_since__isnull=False))
    Connection.objects.filter(pk__in=ids).update(last_success_at=now)
    for connection in failing:
        recovered = Connection.objects.filter(pk=connection.pk, failing_since__isnull=False).update(
            failing_since=None, outage_alerted_at=None
        )
        if recovered and connection.outage_alerted_at is not None:
            alert_raise(
                title=f"{connection.name} is back",
                message=f"Calls to {connection.name} work again after failing since "
                f"{connection.failing_since:%Y-%m-%d %H:%M:%S %Z}.",
                severity=Alert.Severity.INFO,
                subject=connection,
            )


def connection_outage(*, failing_since: datetime | None, now: datetime | None = None) -> bool:
    """Failing for longer than the alert threshold (an alert went out, or is going)."""
    return failing_since is not None and failing_since <= (now or timezone.now()) - _outage_minutes()
