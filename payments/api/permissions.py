from rest_framework.permissions import IsAuthenticated


class HasApiPermission(IsAuthenticated):
    """The token's user needs the model permission the view names in `required_permission` (the admin's
    add/view permissions on orders and transactions), so a storefront token can be given exactly what
    it uses."""

    def has_permission(self, request, view) -> bool:
        required = getattr(view, "required_permission", None)
        return super().has_permission(request, view) and (required is None or request.user.has_perm(required))
