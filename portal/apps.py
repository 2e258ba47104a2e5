from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_resync(sender, app_config, **kwargs) -> None:
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    # post_migrate fires once per app; permissions of every app exist only after the last one.
    if app_config is not list(apps.get_app_configs())[-1]:
        return

    from portal.roles import roles_sync

    roles_sync(group_model=Group, permission_model=Permission)


def _cache_table_create(sender, using: str, **kwargs) -> None:
    from django.core.management import call_command

    # The database cache (no Redis) needs its table wherever migrate ran: `make run`, CI, the tests.
    call_command("createcachetable", database=using, verbosity=0)


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Paysage portal"

    def ready(self) -> None:
        from portal import checks, tasks  # noqa: F401  (registers system checks and task timeouts)

        # After every migrate, so the roles cover models added since the roles migration.
        post_migrate.connect(_roles_resync, dispatch_uid="paysage-roles-resync")
        post_migrate.connect(_cache_table_create, sender=self, dispatch_uid="paysage-cache-table")
        # Connected after django-axes' own (it is first in INSTALLED_APPS), so its count is there to audit.
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from portal.logins import login_failed_receiver, login_locked_out_receiver

        user_login_failed.connect(login_failed_receiver, dispatch_uid="paysage-login-failed-audit")
        user_locked_out.connect(login_locked_out_receiver, dispatch_uid="paysage-login-locked-out-audit")
