"""The customer list: found by name (trigram index), email (its normalised, indexed form) or an id in any
system; filtered by the systems it is linked to without a join that repeats customers."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from customers.models import CustomerLink
from integrations.models import System
from portal.admin_lists.export import ExportColumn as Col
from portal.admin_lists.filters import currency_filter, date_range
from portal.admin_lists.mixins import MoneyListAdminMixin
from portal.admin_lists.search import ListSearch


class LinkedSystemFilter(admin.SimpleListFilter):
    title = "linked in"
    parameter_name = "linked_in"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(System.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        links = CustomerLink.objects.filter(customer=OuterRef("pk"), connection__system=self.value())
        return queryset.filter(Exists(links))


class CustomerListMixin(MoneyListAdminMixin):
    list_display = ["name", "email", "phone", "city", "country", "linked_ids", "created_at"]
    list_sortable = ("created_at",)
    list_filter = [date_range("created_at", "created"), LinkedSystemFilter, currency_filter()]
    list_search = ListSearch(
        reference=("links__external_id",),
        email=("email",),
        name=("name", "company"),
    )
    export_columns = (
        Col("name", "Name"),
        Col("company", "Company"),
        Col("email", "Email"),
        Col("phone", "Phone"),
        Col("city", "City"),
        Col("state", "State"),
        Col("postal_code", "Postal code"),
        Col("country", "Country"),
        Col("currency", "Currency"),
        Col("created_at", "Created at"),
    )
