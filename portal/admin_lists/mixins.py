"""`MoneyListAdminMixin`: a ModelAdmin's list with the recognising search, an estimated count where an
exact one is too dear, totals per currency under the rows, and an export of exactly the rows the list shows
(its filters, search and order) as a streamed CSV."""

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters, ShowFacets
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from integrations.audit import audit_record_export
from portal.admin_lists import totals
from portal.admin_lists.counting import EXACT_COUNT_BELOW, EstimatedCountPaginator
from portal.admin_lists.export import ExportColumn, csv_lines
from portal.admin_lists.search import ListSearch, list_search_apply


class _IndexedOrderChangeList(ChangeList):
    """Sorts only by the columns the admin names as sortable, even when asked by a hand-made `?o=`."""

    def get_ordering_field(self, field_name: Any) -> Any:
        return super().get_ordering_field(field_name) if field_name in self.sortable_by else None


class MoneyListAdminMixin:
    list_search: ListSearch = ListSearch()
    # list_display names whose order an index serves; the others are not sortable.
    list_sortable: tuple[str, ...] = ()
    # Summed columns (ORM path or annotation -> label) and the currency they are in.
    list_totals: dict[str, str] = {}
    list_currency: str = "currency"
    export_columns: tuple[ExportColumn, ...] = ()

    paginator = EstimatedCountPaginator
    show_full_result_count = False  # the second count over the whole table
    show_facets = ShowFacets.NEVER  # a count per filter choice, each over the whole table
    change_list_template = "admin/money_change_list.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.search_help_text is None and self.list_search.field_paths():
            self.search_help_text = self.list_search.help_text()

    def get_sortable_by(self, request: HttpRequest) -> list[str]:
        return [name for name in self.get_list_display(request) if name in self.list_sortable]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _IndexedOrderChangeList

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # Only whether there is a search box: the search itself is list_search's.
        return self.list_search.field_paths()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return list_search_apply(queryset=queryset, search=self.list_search, term=search_term), False

    def _export_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_export"

    def get_urls(self) -> list:
        export = path(
            "export.csv", self.admin_site.admin_view(self.export_view), name=self._export_url_name()
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if isinstance(response, TemplateResponse) and context and "cl" in context:
            changelist = context["cl"]
            summed = self._totals_wanted(changelist)
            context["list_totals"] = self._totals(changelist) if summed else []
            context["list_totals_skipped"] = bool(self.list_totals) and not summed
            context["totals_below"] = min(EXACT_COUNT_BELOW, totals.TOTALS_BELOW)
            if self.export_columns:
                query = changelist.get_query_string(remove=[PAGE_VAR])
                context["export_url"] = reverse(f"admin:{self._export_url_name()}") + query
        return response

    def _totals_wanted(self, changelist: Any) -> bool:
        # Summing an estimated million rows would cost the scan the estimate avoided, and a broad exact
        # match (tens of thousands of rows) costs a read of each: totals only for a narrowed list.
        paginator = changelist.paginator
        return (
            bool(self.list_totals)
            and not paginator.estimated
            and totals.list_totals_wanted(rows=paginator.count)
        )

    def _totals(self, changelist: Any) -> list:
        return totals.list_totals(
            queryset=changelist.queryset, columns=self.list_totals, currency=self.list_currency
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.export_columns or not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        query = changelist.get_query_string(remove=[PAGE_VAR]).lstrip("?")
        audit_record_export(list_name=str(self.opts.verbose_name_plural), query=query, actor=request.user)
        filename = f"{self.opts.model_name}-{timezone.localdate().isoformat()}.csv"
        response = StreamingHttpResponse(
            csv_lines(queryset=changelist.queryset, columns=self.export_columns),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
