import knox.admin  # noqa: F401  (registers knox's token admin now, so it can be replaced below)
from django.contrib import admin
from knox.models import AuthToken

from customers.models import Customer
from integrations.models import ErpPosting
from payments.admin.api_tokens import ApiTokenAdmin
from payments.admin.billing import SUBSCRIPTION_ACTIONS, SubscriptionTermsAdminMixin
from payments.admin.lists import (
    AllocationListMixin,
    CallbackDeliveryListMixin,
    CreditMemoListMixin,
    CurrencyConversionListMixin,
    InvoiceListMixin,
    JournalEntryListMixin,
    OrderListMixin,
    ReconciliationExceptionListMixin,
    SettlementBatchListMixin,
    SubscriptionListMixin,
    TransactionListMixin,
)
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
    CallbackDelivery,
    CreditMemo,
    CurrencyConversion,
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
class TransactionAdmin(
    TransactionStoryAdminMixin, TransactionListMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    raw_id_fields = ["original", "customer", "order", "settlement_batch", "connection"]
    actions = [refund_or_void]


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
class OrderAdmin(OrderListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["customer", "erp_connection"]
    inlines = [OrderLineInline, OrderEventInline, OrderPostingInline, OrderPaymentInline]


@admin.register(Invoice)
class InvoiceAdmin(InvoiceApplicationsAdminMixin, InvoiceListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["customer", "order", "connection"]


@admin.register(Allocation)
class AllocationAdmin(AllocationListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["payment", "invoice"]
    actions = [undo_allocations]


@admin.register(SettlementBatch)
class SettlementBatchAdmin(SettlementBatchListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(CreditMemo)
class CreditMemoAdmin(CreditMemoListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["refund", "original", "invoice"]


@admin.register(CurrencyConversion)
class CurrencyConversionAdmin(CurrencyConversionListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(CallbackDeliveryListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class JournalEntryLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = JournalEntryLine
    extra = 0
    fields = ["line_number", "account", "debit", "credit", "description"]
    readonly_fields = fields


@admin.register(JournalEntry)
class JournalEntryAdmin(JournalEntryListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["transaction", "settlement_batch", "erp_connection"]
    inlines = [JournalEntryLineInline]


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
class SubscriptionAdmin(
    SubscriptionListMixin, AuditedAdminMixin, SubscriptionTermsAdminMixin, admin.ModelAdmin
):
    raw_id_fields = ["customer", "paytrace_connection", "erp_connection"]
    inlines = [SubscriptionChargeInline]
    actions = SUBSCRIPTION_ACTIONS


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(
    ObjectActionsMixin, ReconciliationExceptionListMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
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
