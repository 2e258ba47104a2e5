"""Test connections: call each outside system with the stored credentials and keep its answer on the row."""

from collections.abc import Iterable

from django.utils import timezone

from integrations.models import Connection, System
from integrations.paytrace.client import PayTraceClient
from integrations.sage.base import ConnectionCheck
from integrations.sage.registry import connector_for
from portal.pci import card_numbers_mask

MESSAGE_CHARS = 2000


def _paytrace_check(connection: Connection) -> ConnectionCheck:
    """The unauthenticated ping says PayTrace is reachable; a fresh login and a one-day batch export say
    the credentials work and the account may read reports (what the sync needs)."""
    client = PayTraceClient.from_connection(connection)
    if not client.ping():
        return ConnectionCheck(
            ok=False, message=f"PayTrace at {connection.base_url} did not answer the ping."
        )
    client.authenticate()
    today = timezone.localdate()
    batches = client.batches_export(start_date=today, end_date=today)
    return ConnectionCheck(
        ok=True, message=f"Signed in to PayTrace; {len(batches)} settlement batch(es) today."
    )


def connection_check(*, connection: Connection) -> ConnectionCheck:
    """Never raises: whatever went wrong is the answer to show."""
    try:
        if connection.system == System.PAYTRACE:
            check = _paytrace_check(connection)
        else:
            check = connector_for(connection).connection_test()
    except KeyError as exc:
        check = ConnectionCheck(ok=False, message=f"The stored credentials lack {exc}.")
    except Exception as exc:  # noqa: BLE001 - a failed check is an answer, not a crash
        check = ConnectionCheck(ok=False, message=f"{type(exc).__name__}: {exc}")
    check = ConnectionCheck(ok=check.ok, message=card_numbers_mask(check.message)[:MESSAGE_CHARS])
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
