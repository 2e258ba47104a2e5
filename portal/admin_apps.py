"""django.contrib.admin, installed with the portal's own site (kept apart: app configs load before models)."""

from django.contrib.admin.apps import AdminConfig


class PaysageAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PaysageAdminSite"
