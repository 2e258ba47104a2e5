"""The permissions the REST API checks, declared by the apps that serve it.

The Storefront role holds exactly these (`portal.roles`). An app with API views registers, from its
`ready()`, a function that lists the permissions its views check; it is called when the roles are synced,
so a view added or changed never leaves the role behind, and the portal needs to know no app's views."""

from collections.abc import Callable, Iterable

PermissionsSource = Callable[[], Iterable[str]]

_SOURCES: list[PermissionsSource] = []


def api_permissions_register(source: PermissionsSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def api_permissions() -> frozenset[str]:
    """`<app_label>.<codename>` of every permission a registered API checks."""
    return frozenset(permission for source in _SOURCES for permission in source())
