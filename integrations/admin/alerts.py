"""Alerts are acknowledged from their list: who saw each one, and when, is kept on it and audited."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations.alerts import alert_acknowledge
from integrations.models import Alert
from portal.admin_mixins import confirmed_action


class AlertAcknowledgeAdminMixin:
    actions = ["acknowledge_alerts"]
    readonly_fields = ["acknowledged_by_display"]

    @admin.display(description="Acknowledged by", ordering="acknowledged_by__username")
    def acknowledged_by_display(self, alert: Alert) -> str:
        if alert.acknowledged_at is None:
            return "not yet"
        return f"{alert.acknowledged_by or 'a deleted user'} at {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC"

    @confirmed_action(
        description="Acknowledge: I have seen these alerts",
        done="acknowledged",
        permissions=("decide",),
        with_reason=False,
    )
    def acknowledge_alerts(self, request: HttpRequest, queryset: QuerySet[Alert], reason: str) -> int:
        waiting = queryset.filter(acknowledged_at__isnull=True).order_by("pk")
        return sum(alert_acknowledge(alert=alert, actor=request.user) for alert in waiting)
