"""The portal's admin site: Django's, with the dashboard as its index page."""

from datetime import timedelta

from django.contrib import admin
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.safestring import SafeString

from portal.admin_nav import nav_app_list
from portal.charts import Series, chart_bars_svg, chart_lines_svg
from portal.dashboard import DailyTrends, dashboard_get


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def dashboard_charts(*, trends: DailyTrends) -> dict[str, SafeString]:
    labels = [day.strftime("%b %d") for day in trends.days]
    return {
        "payments": chart_bars_svg(title="Payments per day", labels=labels, values=trends.payments),
        "lag": chart_lines_svg(
            title="Posting lag (minutes, payment to ERP)",
            labels=labels,
            series=[
                Series(name="average", values=trends.lag_average_minutes),
                Series(name="longest", values=trends.lag_longest_minutes),
            ],
            unit=" min",
        ),
        "reconciliation": chart_lines_svg(
            title="Settlement batches reconciled",
            labels=labels,
            series=[Series(name="reconciled", values=trends.reconciliation_rate)],
            unit="%",
            top=100,
        ),
    }


class PaysageAdminSite(admin.AdminSite):
    site_header = "Paysage"
    site_title = "Paysage"
    index_title = "Dashboard"
    index_template = "admin/dashboard.html"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        dashboard = dashboard_get()
        context = {
            "dashboard": dashboard,
            "median_lag": duration_text(dashboard.lag.median),
            "longest_lag": duration_text(dashboard.lag.longest),
            "charts": dashboard_charts(trends=dashboard.trends),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """Grouped by task (portal.admin_nav) for the index and the sidebar; an app's own page
        (/admin/payments/, the breadcrumbs' link) still lists that app."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        return nav_app_list(app_dict=self._build_app_dict(request))

    def get_urls(self):
        return [
            path("tasks/<slug:group>/", self.admin_view(self.nav_group_index), name="nav_group"),
            *super().get_urls(),
        ]

    def nav_group_index(self, request: HttpRequest, group: str) -> TemplateResponse:
        """One group's page, as Django shows one app's."""
        chosen = [app for app in self.get_app_list(request) if app["app_label"] == group]
        if not chosen:
            raise Http404("No such group, or nothing in it you may see.")
        context = {
            **self.each_context(request),
            "title": chosen[0]["name"],
            "subtitle": None,
            "app_list": chosen,
            "app_label": group,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/app_index.html", context)
