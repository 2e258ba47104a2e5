"""Reads about connections: only the running environment's connections are ever used."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from integrations.erps import erp_codes
from integrations.models import Connection


class ConnectionMissing(Exception):
    pass


def connections_active(*, system: str | None = None) -> QuerySet[Connection]:
    queryset = Connection.objects.filter(is_active=True, environment=settings.PAYSAGE_ENV)
    return queryset.filter(system=system) if system else queryset


def connection_active_get(*, system: str) -> Connection:
    connection = connections_active(system=system).order_by("pk").first()
    if connection is None:
        raise ConnectionMissing(f"no active {system} connection in the {settings.PAYSAGE_ENV} environment")
    return connection


# PayTrace reports account-local US timestamps; a connection names its account's zone in its options.
PAYTRACE_DEFAULT_TIMEZONE = "America/Los_Angeles"


def connection_timezone(connection: Connection) -> ZoneInfo:
    return ZoneInfo(connection.options.get("timezone", PAYTRACE_DEFAULT_TIMEZONE))


def erp_connections_active(*, name: str | None = None) -> QuerySet[Connection]:
    """The running environment's active ERP connections (only the one named `name`, when given)."""
    connections = connections_active().filter(system__in=erp_codes()).order_by("pk")
    return connections.filter(name=name) if name else connections
