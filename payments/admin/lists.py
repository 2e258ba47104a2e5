"""The money lists of the payments admin: what each list shows (fitting a 1366 px screen), how its search
finds a row (each kind of term through an index), its filters, totals and export columns. The change pages
are the admins' own (payments.admin)."""

from django.contrib import admin
from django.db.models import DecimalField, OuterRef, Prefetch, Subquery, Sum

from integrations.models import ErpPosting
from integrations.paytrace.records import CARD_BRANDS
from payments.models import JournalEntryLine, RiskModelVersion, Transaction
from portal.admin_lists.columns import money_column
from portal.admin_lists.export import ExportColumn as Col
from portal.admin_lists.filters import currency_filter, date_range, fixed_choices_filter
from portal.admin_lists.mixins import MoneyListAdminMixin
from portal.admin_lists.search import ListSearch

CardBrandFilter = fixed_choices_filter(
    field_path="card_brand",
    title="card brand",
    choices=lambda: [(brand, brand.title()) for brand in CARD_BRANDS],
)


def _risk_model_versions() -> list[tuple[str, str]]:
    versions = RiskModelVersion.objects.order_by("-trained_at").values_list("version", flat=True)
    return [(version, version) for version in versions]


RiskModelVersionFilter = fixed_choices_filter(
    field_path="model_version", title="model version", choices=_risk_model_versions
)


class TransactionListMixin(MoneyListAdminMixin):
    list_display = [
        "transaction_id",
        "kind_and_status",
        "amount_money",
        "card",
        "customer_name",
        "erp_documents",
        "occurred_at",
    ]
    list_sortable = ("transaction_id", "amount_money", "occurred_at")
    list_filter = [
        date_range("occurred_at", "date"),
        "status",
        "transaction_type",
        "payment_method",
        CardBrandFilter,
        "connection",
    ]
    list_select_related = ["customer"]
    list_search = ListSearch(
        reference=(
            "transaction_id",
            "invoice_reference",
            "order__order_id",
            "postings__erp_document_number",
            "allocations__invoice__invoice_number",
        ),
        last_four=("last4",),
        amount=("amount",),
        email=("email", "customer__email"),
        name=("billing_name", "customer__name"),
    )
    list_totals = {"amount": "Amount", "amount_refunded": "Refunded", "amount_applied": "Applied"}
    export_columns = (
        Col("transaction_id", "PayTrace transaction id"),
        Col("transaction_type", "Type"),
        Col("status", "Status"),
        Col("payment_method", "Method"),
        Col("amount", "Amount"),
        Col("currency", "Currency"),
        Col("amount_refunded", "Refunded"),
        Col("amount_applied", "Applied to invoices"),
        Col("customer__name", "Customer"),
        Col("customer__email", "Customer email"),
        Col("invoice_reference", "Invoice reference"),
        Col("order__order_id", "Order id"),
        Col("settlement_batch__batch_number", "Settlement batch"),
        Col("occurred_at", "Occurred at"),
        Col("settled_at", "Settled at"),
    )
    amount_money = money_column(amount="amount")

    def get_queryset(self, request):
        postings = ErpPosting.objects.select_related("connection").order_by("pk")
        return super().get_queryset(request).prefetch_related(Prefetch("postings", queryset=postings))

    @admin.display(description="what", ordering="status")
    def kind_and_status(self, obj: Transaction) -> str:
        return f"{obj.get_transaction_type_display()}, {obj.get_status_display().lower()}"

    @admin.display(description="card")
    def card(self, obj: Transaction) -> str:
        return f"{obj.card_brand.title()} {obj.last4}".strip() or "—"

    @admin.display(description="customer", ordering="customer__name")
    def customer_name(self, obj: Transaction) -> str:
        return obj.customer.name if obj.customer is not None else obj.billing_name or "—"

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


class OrderListMixin(MoneyListAdminMixin):
    list_display = [
        "order_id",
        "status",
        "customer",
        "total_money",
        "erp_connection",
        "erp_order_number",
        "paytrace_transaction_id",
        "created_at",
    ]
    list_sortable = ("order_id", "created_at")
    list_filter = [date_range("created_at", "date"), "status", "erp_connection__system", currency_filter()]
    list_select_related = ["erp_connection", "customer"]
    list_search = ListSearch(
        reference=("order_id", "erp_order_number", "paytrace_transaction_id", "invoice_number"),
        amount=("total",),
        email=("customer__email",),
        name=("customer__name",),
    )
    list_totals = {"total": "Total"}
    export_columns = (
        Col("order_id", "Order id"),
        Col("status", "Status"),
        Col("customer__name", "Customer"),
        Col("total", "Total"),
        Col("currency", "Currency"),
        Col("erp_order_number", "ERP order number"),
        Col("paytrace_transaction_id", "PayTrace transaction id"),
        Col("created_at", "Created at"),
    )
    total_money = money_column(amount="total", description="total", sortable=False)


class InvoiceListMixin(MoneyListAdminMixin):
    list_display = [
        "invoice_number",
        "customer",
        "status",
        "amount_money",
        "balance_money",
        "issued_on",
        "due_on",
    ]
    list_sortable = ("invoice_number", "amount_money", "issued_on")
    list_filter = [
        date_range("issued_on", "issued"),
        date_range("due_on", "due"),
        "status",
        "connection__system",
        currency_filter(),
    ]
    list_select_related = ["customer"]
    list_search = ListSearch(
        reference=("invoice_number", "reference", "order__order_id"),
        amount=("amount",),
        email=("customer__email",),
        name=("customer__name",),
    )
    list_totals = {"amount": "Amount", "balance": "Balance"}
    export_columns = (
        Col("invoice_number", "Invoice number"),
        Col("connection__name", "ERP"),
        Col("customer__name", "Customer"),
        Col("status", "Status"),
        Col("amount", "Amount"),
        Col("balance", "Balance"),
        Col("currency", "Currency"),
        Col("issued_on", "Issued on"),
        Col("due_on", "Due on"),
        Col("reference", "Reference"),
    )
    amount_money = money_column(amount="amount")
    balance_money = money_column(amount="balance", description="balance", sortable=False)


class AllocationListMixin(MoneyListAdminMixin):
    list_display = ["payment", "invoice", "amount_money", "rule", "actor", "created_at", "reversed_at"]
    list_sortable = ("created_at",)
    list_filter = [date_range("created_at", "date"), "rule", ("reversed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["payment", "invoice", "actor"]
    list_search = ListSearch(
        reference=("payment__transaction_id", "invoice__invoice_number"),
        last_four=("payment__last4",),
        amount=("amount",),
    )
    list_totals = {"amount": "Applied"}
    export_columns = (
        Col("payment__transaction_id", "PayTrace transaction id"),
        Col("invoice__invoice_number", "Invoice number"),
        Col("amount", "Amount"),
        Col("currency", "Currency"),
        Col("rule", "Rule"),
        Col("actor__username", "By"),
        Col("created_at", "Applied at"),
        Col("reversed_at", "Undone at"),
    )
    amount_money = money_column(amount="amount", sortable=False)


class SettlementBatchListMixin(MoneyListAdminMixin):
    list_display = [
        "batch_number",
        "status",
        "settled_at",
        "transaction_count",
        "sales_money",
        "refund_money",
        "fee_money",
        "deposit_money",
    ]
    list_sortable = ("batch_number", "settled_at")
    list_filter = [date_range("settled_at", "settled"), "status", "connection"]
    list_search = ListSearch(reference=("batch_number",), amount=("net_amount", "deposit_amount"))
    list_totals = {
        "sales_amount": "Sales",
        "refund_amount": "Refunds",
        "net_amount": "Net",
        "fee_amount": "Fees",
        "deposit_amount": "Deposits",
    }
    export_columns = (
        Col("batch_number", "Batch"),
        Col("connection__name", "Connection"),
        Col("status", "Status"),
        Col("settled_at", "Settled at"),
        Col("transaction_count", "Transactions"),
        Col("sales_amount", "Sales"),
        Col("refund_amount", "Refunds"),
        Col("net_amount", "Net"),
        Col("fee_amount", "Fees"),
        Col("deposit_amount", "Deposit"),
        Col("currency", "Currency"),
    )
    sales_money = money_column(amount="sales_amount", description="sales", sortable=False)
    refund_money = money_column(amount="refund_amount", description="refunds", sortable=False)
    fee_money = money_column(amount="fee_amount", description="fees", sortable=False)
    deposit_money = money_column(amount="deposit_amount", description="deposit", sortable=False)


class CreditMemoListMixin(MoneyListAdminMixin):
    list_display = ["refund", "original", "invoice", "amount_money", "erp_document_number", "created_at"]
    list_sortable = ("created_at",)
    list_filter = [date_range("created_at", "date")]
    list_select_related = ["refund", "original", "invoice"]
    list_search = ListSearch(
        reference=(
            "erp_document_number",
            "refund__transaction_id",
            "original__transaction_id",
            "invoice__invoice_number",
        ),
        amount=("amount",),
    )
    list_totals = {"amount": "Refunded"}
    export_columns = (
        Col("refund__transaction_id", "Refund transaction id"),
        Col("original__transaction_id", "Original transaction id"),
        Col("invoice__invoice_number", "Invoice number"),
        Col("amount", "Amount"),
        Col("currency", "Currency"),
        Col("reason", "Reason"),
        Col("erp_document_number", "ERP document number"),
        Col("created_at", "Created at"),
    )
    amount_money = money_column(amount="amount", sortable=False)


def _journal_amount() -> Subquery:
    """An entry's amount: the sum of its debits (equal to its credits)."""
    debits = (
        JournalEntryLine.objects.filter(entry=OuterRef("pk"))
        .order_by()
        .values("entry")
        .annotate(total=Sum("debit"))
        .values("total")
    )
    return Subquery(debits, output_field=DecimalField(max_digits=14, decimal_places=2))


class JournalEntryListMixin(MoneyListAdminMixin):
    list_display = [
        "reference",
        "kind",
        "erp_connection",
        "entry_date",
        "amount_money",
        "erp_document_number",
    ]
    list_sortable = ("reference", "entry_date")
    list_filter = [date_range("entry_date", "date"), "kind", "erp_connection"]
    list_select_related = ["erp_connection"]
    list_search = ListSearch(
        reference=(
            "reference",
            "erp_document_number",
            "transaction__transaction_id",
            "settlement_batch__batch_number",
        ),
        amount=("lines__debit",),
    )
    list_totals = {"amount": "Amount"}
    export_columns = (
        Col("reference", "Reference"),
        Col("kind", "Kind"),
        Col("erp_connection__name", "ERP"),
        Col("entry_date", "Date"),
        Col("amount", "Amount"),
        Col("currency", "Currency"),
        Col("erp_document_number", "ERP document number"),
        Col("description", "Description"),
    )
    amount_money = money_column(amount="amount", sortable=False)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(amount=_journal_amount())


class SubscriptionListMixin(MoneyListAdminMixin):
    list_display = ["customer", "amount_money", "interval", "next_run_on", "ends_on", "status"]
    list_sortable = ("next_run_on",)
    list_filter = [date_range("next_run_on", "next run"), "status", "interval", currency_filter()]
    list_select_related = ["customer"]
    list_search = ListSearch(
        reference=("paytrace_customer_id",),
        amount=("amount",),
        email=("customer__email",),
        name=("customer__name", "description"),
    )
    list_totals = {"amount": "Amount per charge"}
    export_columns = (
        Col("customer__name", "Customer"),
        Col("description", "Description"),
        Col("amount", "Amount"),
        Col("currency", "Currency"),
        Col("interval", "Interval"),
        Col("next_run_on", "Next run"),
        Col("ends_on", "Ends on"),
        Col("status", "Status"),
    )
    amount_money = money_column(amount="amount", sortable=False)


class ReconciliationExceptionListMixin(MoneyListAdminMixin):
    list_display = [
        "kind",
        "status",
        "settlement_batch",
        "transaction",
        "expected_money",
        "reported_money",
        "difference_money",
        "created_at",
    ]
    list_sortable = ("created_at",)
    list_filter = [date_range("created_at", "found"), "status", "kind"]
    list_select_related = ["settlement_batch", "transaction"]
    list_search = ListSearch(
        reference=("transaction__transaction_id", "settlement_batch__batch_number"),
        amount=("difference", "expected_amount", "reported_amount"),
        name=("reason",),
    )
    list_totals = {"difference": "Difference"}
    export_columns = (
        Col("kind", "Kind"),
        Col("status", "Status"),
        Col("settlement_batch__batch_number", "Batch"),
        Col("transaction__transaction_id", "PayTrace transaction id"),
        Col("expected_amount", "Expected"),
        Col("reported_amount", "Reported"),
        Col("difference", "Difference"),
        Col("currency", "Currency"),
        Col("reason", "Reason"),
        Col("created_at", "Found at"),
    )
    expected_money = money_column(amount="expected_amount", description="expected", sortable=False)
    reported_money = money_column(amount="reported_amount", description="reported", sortable=False)
    difference_money = money_column(amount="difference", description="difference", sortable=False)


class RiskAssessmentListMixin(MoneyListAdminMixin):
    """The flagged-payment queue's list (its decisions are payments.admin.risk's)."""

    list_display = [
        "transaction",
        "score",
        "status",
        "amount_money",
        "reasons_summary",
        "occurred_at",
        "decided_by",
    ]
    list_sortable = ("score",)
    list_select_related = ["transaction__customer", "decided_by"]
    list_search = ListSearch(
        reference=("transaction__transaction_id",),
        last_four=("transaction__last4",),
        amount=("transaction__amount",),
        email=("transaction__email", "transaction__customer__email"),
        name=("transaction__customer__name", "transaction__billing_name"),
    )
    list_totals = {"transaction__amount": "Amount"}
    list_currency = "transaction__currency"
    export_columns = (
        Col("transaction__transaction_id", "PayTrace transaction id"),
        Col("transaction__amount", "Amount"),
        Col("transaction__currency", "Currency"),
        Col("transaction__customer__name", "Customer"),
        Col("score", "Score"),
        Col("status", "Status"),
        Col("model_version", "Model"),
        Col("decided_by__username", "Decided by"),
        Col("decided_at", "Decided at"),
        Col("decision_reason", "Decision reason"),
        Col("created_at", "Scored at"),
    )
    amount_money = money_column(
        amount="transaction__amount", currency="transaction__currency", sortable=False
    )


class CallbackDeliveryListMixin(MoneyListAdminMixin):
    """The storefront callbacks (`payments.services.callbacks`): what went to which order's URL, and how."""

    list_display = [
        "order",
        "event",
        "status",
        "attempt_count",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_sortable = ()  # a small table, newest first by its key: no index to sort another way
    list_filter = [date_range("created_at", "date"), "status"]
    list_select_related = ["order", "event"]
    list_search = ListSearch(reference=("order__order_id",))
    export_columns = (
        Col("order__order_id", "Order"),
        Col("event__status", "Status sent"),
        Col("url", "Callback URL"),
        Col("status", "Delivery"),
        Col("attempt_count", "Attempts"),
        Col("delivered_at", "Delivered at"),
        Col("last_error", "Last error"),
        Col("created_at", "Created at"),
    )


class CurrencyConversionListMixin(MoneyListAdminMixin):
    """The receipts posted in another currency than their payment: both amounts, the rate and its source."""

    list_display = ["posting", "from_money", "to_money", "rate", "operation", "rate_date", "source"]
    list_sortable = ()  # a small table, newest first by its key: no index to sort another way
    list_filter = [date_range("rate_date", "rate date"), "from_currency", "to_currency"]
    list_select_related = ["posting"]
    list_search = ListSearch(reference=("posting__reference", "posting__erp_document_number"))
    list_currency = "to_currency"
    export_columns = (
        Col("posting__reference", "Reference"),
        Col("posting__erp_document_number", "ERP document number"),
        Col("from_currency", "From currency"),
        Col("from_amount", "From amount"),
        Col("to_currency", "To currency"),
        Col("to_amount", "To amount"),
        Col("rate", "Rate"),
        Col("operation", "Operation"),
        Col("rate_date", "Rate date"),
        Col("source", "Source"),
    )
    from_money = money_column(
        amount="from_amount", currency="from_currency", description="paid", sortable=False
    )
    to_money = money_column(amount="to_amount", currency="to_currency", description="posted", sortable=False)
