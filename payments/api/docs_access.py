from django.conf import settings
from rest_framework.permissions import BasePermission


class ApiDocsAccess(BasePermission):
    """/api/schema/ and /api/docs/ map every endpoint and field: public only where API_DOCS_PUBLIC is on
    (the dev default), otherwise for an authenticated caller (staff logged into the admin, or a token).
    Read per request, so the setting needs no restart of the URL configuration."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)
