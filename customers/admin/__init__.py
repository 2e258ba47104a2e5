from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from customers.admin.lists import CustomerListMixin
from customers.models import Customer, CustomerLink, DuplicateCandidate
from customers.review import duplicate_decide
from customers.selectors import customer_merge_summary
from portal.admin_mixins import ActionForm, ReadOnlyAdminMixin, confirmed_action, form_action


class SurvivorForm(ActionForm):
    """Which of the two customers stays; the page names both with their ids, payments and invoices."""

    keep = forms.TypedChoiceField(
        label="Keep", widget=forms.RadioSelect, coerce=int, help_text="The other one is merged into it."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        candidate = self.queryset.select_related("customer", "other").first()
        self.pair = [candidate.customer, candidate.other] if candidate is not None else []
        self.fields["keep"].choices = [
            (customer.pk, customer_merge_summary(customer=customer)) for customer in self.pair
        ]

    def clean_keep(self) -> Customer:
        return next(customer for customer in self.pair if customer.pk == self.cleaned_data["keep"])

    def clean(self):
        data = super().clean()
        if self.pair and self.queryset.get().status != DuplicateCandidate.Status.OPEN:
            raise forms.ValidationError("This pair was already decided.")
        return data


class CustomerLinkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CustomerLink
    extra = 0
    fields = ["connection", "external_id", "external_updated_at", "synced_at"]
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(CustomerListMixin, admin.ModelAdmin):
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

    @form_action(description="Same customer: choose which one to keep", form_class=SurvivorForm, single=True)
    def same_customer(self, request, queryset, data) -> str:
        candidate = queryset.get()
        keep = data["keep"]
        merged = candidate.other if keep.pk == candidate.customer_id else candidate.customer
        merged_name = str(merged)
        try:
            outcome = duplicate_decide(
                candidate=candidate, same=True, actor=request.user, reason=data["reason"], keep=keep
            )
        except ValidationError as refused:
            raise ValueError("; ".join(refused.messages)) from refused
        for clash in outcome.erp_ids_to_merge:
            self.message_user(request, f"Still to do in the ERP: {clash.instruction()}", messages.WARNING)
        return f"Merged {merged_name} into {outcome.kept}: its payments, invoices, orders and ids moved."

    @confirmed_action(
        description="Different customers: keep both",
        done="decided as different customers",
        permissions=("review",),
        with_reason=True,
    )
    def different_customers(self, request, queryset, reason):
        chosen = list(queryset.filter(status=DuplicateCandidate.Status.OPEN).order_by("pk"))
        for candidate in chosen:
            duplicate_decide(candidate=candidate, same=False, actor=request.user, reason=reason)
        return len(chosen)
