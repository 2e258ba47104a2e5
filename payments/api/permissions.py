from rest_framework.permissions import IsAuthenticated


class HasApiPermission(IsAuthenticated):
    """The token's user needs the model permission the view names in `required_permission` (the admin's
    add/view permissions on orders and transactions), so a storefront token can be given exactly what
    it uses."""

    def has_permission(self, request, view) -> bool:
        required = getattr(view, "required_permission", None)
        return super().has_permission(request, view) and (required is None or request.user.has_perm(required))


class HasMonitoringPermission(IsAuthenticated):
    """For the operators' calls (health): the token's user needs the permission the view names in
    `monitoring_permission`. Kept apart from `required_permission` so what a storefront is granted (the
    views' `required_permission`s) never includes a look at the systems behind the portal."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.has_perm(view.monitoring_permission)
