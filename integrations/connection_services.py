"""Writes to connections: credentials entered for one address are never sent to another."""

from typing import Any

from integrations.models import Connection


def connection_credentials_settle(*, connection: Connection, credentials: dict[str, Any] | None) -> bool:
    """Set the credentials `connection` is about to be saved with, and return True when the stored ones
    were dropped. `credentials` given (entered now) replace what is stored. Otherwise a base URL that
    differs from the stored one drops them: they were entered for the old address, and whoever can change
    the URL must not be able to have them sent elsewhere (a connection test would send them at once).

    Saves nothing, so the admin saves through its own path (and whatever wraps it); everything else saves
    with `connection_update`."""
    if credentials is not None:
        connection.credentials = credentials
        return False
    stored_url = Connection.objects.filter(pk=connection.pk).values_list("base_url", flat=True).first()
    if stored_url is None or stored_url == connection.base_url:
        return False
    connection.credentials = {}
    return True


def connection_update(
    *, connection: Connection, data: dict[str, Any], credentials: dict[str, Any] | None = None
) -> bool:
    """Change `connection`'s fields named in `data` (and its credentials when given) and save it; returns
    True when its stored credentials were dropped because its base URL moved."""
    for name, value in data.items():
        setattr(connection, name, value)
    dropped = connection_credentials_settle(connection=connection, credentials=credentials)
    connection.full_clean()
    connection.save()
    return dropped
