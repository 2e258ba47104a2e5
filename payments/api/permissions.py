from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import IsAuthenticated


class HasApiPermission(IsAuthenticated):
    """The token's user needs the model permission the view names in `required_permission` (add or view
    an order, view or refund a transaction): the Storefront group carries exactly these, read from the
    views by `api_permissions_required`."""

    def has_permission(self, request, view) -> bool:
        required = getattr(view, "required_permission", None)
        return super().has_permission(request, view) and (required is None or request.user.has_perm(required))


class HasMonitoringPermission(IsAuthenticated):
    """For the operators' calls (health): the token's user needs the permission the view names in
    `monitoring_permission`. Kept apart from `required_permission` so what a storefront is granted (the
    views' `required_permission`s) never includes a look at the systems behind the portal."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.has_perm(view.monitoring_permission)


def _patterns_walk(patterns: list[URLPattern | URLResolver]):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns_walk(pattern.url_patterns)
        else:
            yield pattern


def api_permissions_required() -> frozenset[str]:
    """Every permission an API view checks, read from the URLconf: the Storefront group is synced from
    it, so a view added or changed never leaves the group behind."""
    return frozenset(
        required
        for pattern in _patterns_walk(get_resolver().url_patterns)
        if (required := getattr(getattr(pattern.callback, "view_class", None), "required_permission", None))
    )
