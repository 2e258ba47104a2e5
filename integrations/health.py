"""Is everything reachable? The database, the django-q2 broker and every active connection, each
asked with a short timeout, the connections side by side so one slow system does not add up. Each check
says only a status and a short fixed reason (`integrations.check_reasons`)."""

from concurrent.futures import ThreadPoolExecutor
from copy import copy
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as db_connection

from integrations.check_reasons import OK, UNREACHABLE
from integrations.connection_checks import connection_probe
from integrations.models import Connection
from integrations.selectors import connections_active

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str
    system: str = ""


def database_live() -> bool:
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means down
        return False
    return True


def _database_check() -> Check:
    ok = database_live()
    return Check(name="database", ok=ok, reason=OK if ok else UNREACHABLE)


def _broker_check() -> Check:
    """Redis when REDIS_URL is set, else the ORM broker's table in our own database."""
    try:
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_SECONDS)
            client.ping()
        else:
            from django_q.models import OrmQ

            OrmQ.objects.exists()
    except Exception:  # noqa: BLE001 - any failure is the answer
        return Check(name="broker", ok=False, reason=UNREACHABLE)
    return Check(name="broker", ok=True, reason=OK)


def _connection_check(connection: Connection) -> Check:
    try:
        probe = connection_probe(connection=connection, sign_in=False)
    finally:
        # A pool thread: the call's health record (`integrations.connection_health`) opened a database
        # connection of its own, which nothing else would close.
        db_connection.close()
    return Check(name=connection.name, ok=probe.ok, reason=probe.message, system=connection.system)


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
