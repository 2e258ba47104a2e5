import knox.admin  # noqa: F401  (registers knox's token admin now, so it can be replaced below)
from django.contrib import admin
from django.db.models import Prefetch, Sum
from knox.models import AuthToken

from customers.models import Customer
from integrations.models import ErpPosting
from payments.admin.api_tokens import ApiTokenAdmin
from payments.admin.billing import SUBSCRIPTION_ACTIONS, SubscriptionTermsAdminMixin
from payments.admin.reconciliation import (
    link_exception,
    refund_or_void,
    resolve_exceptions,
    undo_allocations,
    write_off_exceptions,
)
from payments.admin.risk import RiskAssessmentAdmin, RiskModelVersionAdmin, RiskPolicyAdmin
from payments.admin.story import (
    CustomerMoneyAdmin,
    InvoiceApplicationsAdminMixin,
    TransactionStoryAdminMixin,
)
from payments.models import (
    Allocation,
    CreditMemo,
    Invoice,
    JournalEntry,
    JournalEntryLine,
    Order,
    OrderEvent,
    OrderLine,
    ReconciliationException,
    RiskAssessment,
    RiskModelVersion,
    RiskPolicy,
    SettlementBatch,
    Subscription,
    SubscriptionCharge,
    Transaction,
)
from portal.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin
from portal.admin_object_actions import ObjectActionsMixin


@admin.register(Transaction)
class TransactionAdmin(TransactionStoryAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "transaction_id",
        "transaction_type",
        "status",
        "amount",
        "currency",
        "card_brand",
        "last4",
        "customer",
        "settlement_batch",
        "erp_documents",
        "occurred_at",
    ]
    list_filter = ["status", "transaction_type", "payment_method", "card_brand", "connection"]
    search_fields = [
        "transaction_id",
        "invoice_reference",
        "paytrace_customer_id",
        "approval_code",
        "customer__name",
        "customer__email",
        "order__order_id",
    ]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "settlement_batch", "connection"]
    raw_id_fields = ["original", "customer", "order", "settlement_batch", "connection"]
    actions = [refund_or_void]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("postings", queryset=ErpPosting.objects.select_related("connection").order_by("pk"))
            )
        )

    @admin.display(description="ERP documents")
    def erp_documents(self, obj: Transaction) -> str:
        """Each planned ERP document: its number once posted, else where it stands."""
        return (
            "; ".join(
                f"{posting.connection.get_system_display()} {posting.get_document_type_display().lower()} "
                f"{posting.erp_document_number or posting.get_status_display().lower()}"
                for posting in obj.postings.all()
            )
            or "—"
        )


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["line_number", "sku", "description", "quantity", "unit_price", "amount"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "status", "reason"]
    readonly_fields = fields


class OrderPostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The order's customer and sales-order documents in the ERP, with what the ERP said."""

    model = ErpPosting
    fk_name = "order"
    extra = 0
    fields = ["document_type", "reference", "status", "erp_document_number", "attempt_count", "last_error"]
    readonly_fields = fields
    show_change_link = True


class OrderPaymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Transaction
    fk_name = "order"
    extra = 0
    fields = ["transaction_id", "transaction_type", "status", "amount", "currency", "amount_applied"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "order_id",
        "status",
        "erp_connection",
        "customer",
        "total",
        "currency",
        "erp_order_number",
        "paytrace_transaction_id",
        "status_reason",
        "created_at",
    ]
    list_filter = ["status", "erp_connection__system", "currency"]
    search_fields = [
        "order_id",
        "erp_order_number",
        "paytrace_transaction_id",
        "invoice_number",
        "customer__email",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["erp_connection", "customer"]
    raw_id_fields = ["customer", "erp_connection"]
    inlines = [OrderLineInline, OrderEventInline, OrderPostingInline, OrderPaymentInline]


@admin.register(Invoice)
class InvoiceAdmin(InvoiceApplicationsAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "invoice_number",
        "connection",
        "customer",
        "status",
        "amount",
        "balance",
        "currency",
        "issued_on",
        "due_on",
    ]
    list_filter = ["status", "connection__system", "currency"]
    search_fields = ["invoice_number", "reference", "customer__name", "customer__email"]
    date_hierarchy = "issued_on"
    list_select_related = ["connection", "customer"]
    raw_id_fields = ["customer", "order", "connection"]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["payment", "invoice", "amount", "currency", "rule", "actor", "created_at", "reversed_at"]
    list_filter = ["rule", ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["payment__transaction_id", "invoice__invoice_number"]
    date_hierarchy = "created_at"
    list_select_related = ["payment", "invoice", "actor"]
    raw_id_fields = ["payment", "invoice"]
    actions = [undo_allocations]


@admin.register(SettlementBatch)
class SettlementBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "batch_number",
        "connection",
        "status",
        "settled_at",
        "transaction_count",
        "sales_amount",
        "refund_amount",
        "net_amount",
        "fee_amount",
        "deposit_amount",
    ]
    list_filter = ["status", "connection"]
    search_fields = ["batch_number"]
    date_hierarchy = "settled_at"
    list_select_related = ["connection"]


@admin.register(CreditMemo)
class CreditMemoAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "refund",
        "original",
        "invoice",
        "amount",
        "currency",
        "erp_document_number",
        "created_at",
    ]
    search_fields = ["refund__transaction_id", "original__transaction_id", "erp_document_number"]
    date_hierarchy = "created_at"
    list_select_related = ["refund", "original", "invoice"]
    raw_id_fields = ["refund", "original", "invoice"]


class JournalEntryLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = JournalEntryLine
    extra = 0
    fields = ["line_number", "account", "debit", "credit", "description"]
    readonly_fields = fields


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "kind",
        "erp_connection",
        "entry_date",
        "amount",
        "currency",
        "erp_document_number",
    ]
    list_filter = ["kind", "erp_connection"]
    search_fields = [
        "reference",
        "erp_document_number",
        "transaction__transaction_id",
        "settlement_batch__batch_number",
    ]
    date_hierarchy = "entry_date"
    list_select_related = ["erp_connection"]
    raw_id_fields = ["transaction", "settlement_batch", "erp_connection"]
    inlines = [JournalEntryLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(amount_total=Sum("lines__debit"))

    @admin.display(description="amount", ordering="amount_total")
    def amount(self, entry: JournalEntry):
        """What the entry moves: its debits, which balance its credits."""
        return entry.amount_total


class SubscriptionChargeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SubscriptionCharge
    extra = 0
    fields = [
        "period_start",
        "amount",
        "status",
        "attempt_count",
        "next_retry_on",
        "transaction",
        "last_error",
    ]
    readonly_fields = fields


@admin.register(Subscription)
class SubscriptionAdmin(AuditedAdminMixin, SubscriptionTermsAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "amount", "currency", "interval", "next_run_on", "ends_on", "status"]
    list_filter = ["status", "interval", "currency"]
    search_fields = ["customer__name", "customer__email", "paytrace_customer_id", "description"]
    date_hierarchy = "next_run_on"
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "paytrace_connection", "erp_connection"]
    inlines = [SubscriptionChargeInline]
    actions = SUBSCRIPTION_ACTIONS


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(ObjectActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "kind",
        "status",
        "settlement_batch",
        "transaction",
        "expected_amount",
        "reported_amount",
        "difference",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["reason", "transaction__transaction_id", "settlement_batch__batch_number"]
    date_hierarchy = "created_at"
    list_select_related = ["settlement_batch", "transaction"]
    raw_id_fields = ["settlement_batch", "transaction", "journal_entry"]
    actions = [resolve_exceptions, write_off_exceptions, link_exception]
    object_actions = {
        "write_off_exceptions": lambda exception: exception.status == "open" and exception.difference != 0,
        "resolve_exceptions": lambda exception: exception.status == "open",
        "link_exception": lambda exception: exception.status == "open" and exception.transaction_id is None,
    }


admin.site.register(RiskAssessment, RiskAssessmentAdmin)
admin.site.register(RiskPolicy, RiskPolicyAdmin)
admin.site.register(RiskModelVersion, RiskModelVersionAdmin)
admin.site.unregister(Customer)
admin.site.register(Customer, CustomerMoneyAdmin)
admin.site.unregister(AuthToken)
admin.site.register(AuthToken, ApiTokenAdmin)
