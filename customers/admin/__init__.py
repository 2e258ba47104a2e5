from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from customers.models import Customer, CustomerLink, DuplicateCandidate
from customers.review import duplicate_decide
from portal.admin_mixins import ReadOnlyAdminMixin, confirmed_action


class CustomerLinkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CustomerLink
    extra = 0
    fields = ["connection", "external_id", "external_updated_at", "synced_at"]
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "city", "country", "currency", "linked_ids", "created_at"]
    list_filter = ["links__connection__system", "country", "currency"]
    search_fields = ["name", "email", "email_normalized", "links__external_id", "postal_code"]
    date_hierarchy = "created_at"
    inlines = [CustomerLinkInline]
    readonly_fields = ["field_updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("links__connection")

    @admin.display(description="Id in each system")
    def linked_ids(self, customer: Customer) -> str:
        return ", ".join(
            f"{link.connection.get_system_display()}: {link.external_id}" for link in customer.links.all()
        )


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
    actions = ["same_customer", "different_customers"]

    def has_review_permission(self, request) -> bool:
        # The pair itself is never edited by hand; deciding is what the reviewer's change right allows.
        return request.user.has_perm("customers.change_duplicatecandidate")

    def _decide(self, request, queryset, reason: str, *, same: bool) -> int:
        done = 0
        for candidate in queryset.filter(status=DuplicateCandidate.Status.OPEN).order_by("pk"):
            try:
                duplicate_decide(candidate=candidate, same=same, actor=request.user, reason=reason)
            except (ValidationError, DuplicateCandidate.DoesNotExist) as exc:
                # DoesNotExist: an earlier merge in this batch already took the pair away.
                self.message_user(
                    request, f"{candidate}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
                continue
            done += 1
        return done

    @confirmed_action(
        description="Same customer: merge into the older one", permissions=("review",), with_reason=True
    )
    def same_customer(self, request, queryset, reason):
        return self._decide(request, queryset, reason, same=True)

    @confirmed_action(description="Different customers: keep both", permissions=("review",), with_reason=True)
    def different_customers(self, request, queryset, reason):
        return self._decide(request, queryset, reason, same=False)
