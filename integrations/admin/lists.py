"""The ERP postings list: found by our reference, the ERP's document number, or the payment's or order's
id, each through an index; totals of the payments behind them. The inbox and the posting attempts, the
other lists that grow with every payment, are found and filtered through indexes too."""

from django.contrib import admin

from integrations.models import ErpPosting, System
from integrations.paytrace.events import EVENT_TYPES
from portal.admin_lists.export import ExportColumn as Col
from portal.admin_lists.filters import date_range, fixed_choices_filter
from portal.admin_lists.mixins import MoneyListAdminMixin
from portal.admin_lists.search import ListSearch

ERROR_SHOWN_CHARS = 80


class ErpPostingListMixin(MoneyListAdminMixin):
    list_display = [
        "reference",
        "document_type",
        "connection",
        "status",
        "erp_document_number",
        "attempt_count",
        "short_error",
        "created_at",
    ]
    list_sortable = ("reference", "created_at")
    list_filter = [
        date_range("created_at", "created"),
        "status",
        "document_type",
        "connection__system",
        "connection",
    ]
    list_select_related = ["connection"]
    list_search = ListSearch(
        reference=("reference", "erp_document_number", "transaction__transaction_id", "order__order_id"),
        last_four=("transaction__last4",),
        amount=("transaction__amount",),
    )
    # A posting's money is its payment's; postings of customers, orders and journals have none.
    list_totals = {"transaction__amount": "Payments"}
    list_currency = "transaction__currency"
    export_columns = (
        Col("reference", "Reference"),
        Col("document_type", "Document"),
        Col("connection__name", "ERP"),
        Col("status", "Status"),
        Col("erp_document_number", "ERP document number"),
        Col("transaction__transaction_id", "PayTrace transaction id"),
        Col("transaction__amount", "Amount"),
        Col("transaction__currency", "Currency"),
        Col("attempt_count", "Attempts"),
        Col("last_error_code", "Last error code"),
        Col("created_at", "Created at"),
        Col("posted_at", "Posted at"),
    )

    @admin.display(description="Last error")
    def short_error(self, obj: ErpPosting) -> str:
        # The stored error already names its code ("[MappingMissing] No status mapping …").
        return obj.last_error[:ERROR_SHOWN_CHARS]


class WebhookEventListMixin(MoneyListAdminMixin):
    list_display = [
        "event_id",
        "event_type",
        "status",
        "delivery_count",
        "attempt_count",
        "transaction",
        "created_at",
        "processed_at",
    ]
    list_sortable = ("created_at",)
    list_filter = [
        date_range("created_at", "received"),
        "status",
        fixed_choices_filter(
            field_path="event_type",
            title="event type",
            choices=lambda: [(name, name) for name in EVENT_TYPES],
        ),
        fixed_choices_filter(field_path="source", title="source", choices=lambda: System.choices),
    ]
    list_select_related = ["transaction"]
    list_search = ListSearch(reference=("event_id", "transaction__transaction_id"))


class ErpPostingAttemptListMixin(MoneyListAdminMixin):
    list_display = ["posting", "number", "outcome", "error_code", "duration_ms", "started_at"]
    list_sortable = ("started_at",)
    list_filter = [date_range("started_at", "started"), "outcome"]
    list_select_related = ["posting"]
    list_search = ListSearch(reference=("posting__reference",))
