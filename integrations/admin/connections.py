"""The "test connection" action of the connections admin, and the health its calls give it."""

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from integrations.connection_checks import connections_check
from integrations.connection_health import connection_outage
from integrations.models import Connection


class ConnectionCheckAdminMixin:
    actions = ["test_connections"]

    @admin.action(description="Test connection", permissions=("change",))
    def test_connections(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        # Another environment's credentials are never used from here, not even to test them.
        elsewhere = queryset.exclude(environment=settings.PAYSAGE_ENV).count()
        if elsewhere:
            self.message_user(  # type: ignore[attr-defined]
                request,
                f"{elsewhere} connection(s) of other environments skipped: only {settings.PAYSAGE_ENV} "
                "credentials are used here.",
                messages.WARNING,
            )
        here = queryset.filter(environment=settings.PAYSAGE_ENV).order_by("name")
        for connection, check in connections_check(connections=here):
            outcome = "ok" if check.ok else f"failed: {check.message}"
            self.message_user(  # type: ignore[attr-defined]
                request, f"{connection.name}: {outcome}", messages.SUCCESS if check.ok else messages.ERROR
            )


class ConnectionHealthAdminMixin:
    """What the calls themselves say (`integrations.connection_health`), beside the last manual test."""

    health_fields = ["health", "last_success_at", "failing_since", "last_failure_at", "last_failure_reason"]

    @admin.display(description="Health")
    def health(self, obj: Connection) -> str:
        if obj.failing_since is None:
            return "ok" if obj.last_success_at else "no calls yet"
        down = connection_outage(failing_since=obj.failing_since)
        # An outage in red, as on the dashboard: it is what finance must not miss on this page.
        return format_html(
            '<strong class="health-{}" style="color: {}">{} since {} UTC: {}</strong>',
            "down" if down else "failing",
            "var(--error-fg, #ba2121)" if down else "var(--body-fg)",
            "DOWN" if down else "failing",
            f"{obj.failing_since:%Y-%m-%d %H:%M}",
            obj.last_failure_reason,
        )
