from django.contrib import admin

from customers.models import Customer, CustomerLink, DuplicateCandidate
from portal.admin_mixins import ReadOnlyAdminMixin


class CustomerLinkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CustomerLink
    extra = 0
    fields = ["connection", "external_id", "external_updated_at", "synced_at"]
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "city", "country", "currency", "created_at"]
    list_filter = ["country", "currency"]
    search_fields = ["name", "email", "email_normalized", "links__external_id", "postal_code"]
    date_hierarchy = "created_at"
    inlines = [CustomerLinkInline]
    readonly_fields = ["field_updated_at"]


@admin.register(CustomerLink)
class CustomerLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["external_id", "connection", "customer", "external_updated_at", "synced_at"]
    list_filter = ["connection__system", "connection"]
    search_fields = ["external_id", "customer__name", "customer__email"]
    list_select_related = ["connection", "customer"]
    raw_id_fields = ["customer", "connection"]


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "other", "reason", "status", "decided_by", "decided_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["customer__name", "customer__email", "other__name", "other__email", "reason"]
    list_select_related = ["customer", "other", "decided_by"]
    raw_id_fields = ["customer", "other"]
