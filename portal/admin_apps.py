"""django.contrib.admin, installed with the portal's own site (kept apart: app configs load before models)."""

from django.contrib.admin.apps import AdminConfig


class PaysageAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PaysageAdminSite"

    def ready(self) -> None:
        super().ready()
        from django.contrib import admin
        from django_q import admin as django_q_admin
        from django_q.models import Schedule

        from portal.admin_schedules import ScheduleAdmin

        # django-q2's "resubmit" runs a task again and deletes its result, yet asks for no permission:
        # an Auditor, who changes nothing, must not be offered it.
        django_q_admin.resubmit_task.allowed_permissions = ("change", "delete")
        # A schedule names code the workers run: its form takes only Paysage's own tasks.
        admin.site.unregister(Schedule)
        admin.site.register(Schedule, ScheduleAdmin)
