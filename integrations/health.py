"""Is everything reachable? The database, the django-q2 broker and every active connection, each
asked with a short timeout, the connections side by side so one slow system does not add up."""

from concurrent.futures import ThreadPoolExecutor
from copy import copy
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as db_connection

from integrations.models import Connection, System
from integrations.paytrace.client import PayTraceClient
from integrations.sage.registry import connector_for
from integrations.selectors import connections_active

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    system: str = ""


def _database_check() -> Check:
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check(name="database", ok=False, message=type(exc).__name__)
    return Check(name="database", ok=True, message=db_connection.vendor)


def _broker_check() -> Check:
    """Redis when REDIS_URL is set, else the ORM broker's table in our own database."""
    try:
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_SECONDS)
            client.ping()
            return Check(name="broker", ok=True, message="redis")
        from django_q.models import OrmQ

        queued = OrmQ.objects.count()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check(name="broker", ok=False, message=type(exc).__name__)
    return Check(name="broker", ok=True, message=f"orm, {queued} queued")


def _connection_check(connection: Connection) -> Check:
    try:
        if connection.system == System.PAYTRACE:
            ok = PayTraceClient.from_connection(connection).ping()
            message = "ping answered" if ok else "ping refused"
        else:
            result = connector_for(connection).connection_test()
            ok, message = result.ok, result.message
    except Exception as exc:  # noqa: BLE001 - unreachable, whatever the reason
        ok, message = False, f"{type(exc).__name__}: {exc}"[:200]
    return Check(name=connection.name, ok=ok, message=message, system=connection.system)


def _with_short_timeout(connection: Connection) -> Connection:
    quick = copy(connection)  # never saved: only this check uses the shorter timeout
    quick.options = {**(connection.options or {}), "timeout": CHECK_TIMEOUT_SECONDS}
    return quick


def system_health() -> list[Check]:
    connections = [_with_short_timeout(c) for c in connections_active().order_by("pk")]
    checks = [_database_check(), _broker_check()]
    if connections:
        with ThreadPoolExecutor(max_workers=min(len(connections), 8)) as pool:
            checks += list(pool.map(_connection_check, connections))
    return checks
