"""The gateway's resources in one table, shared by the REST views and the drop-folder importer/exporter."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet

from simulators.sagepro import records, selectors, services
from simulators.sagepro.models import SproSite


@dataclass(frozen=True)
class Resource:
    name: str  # URL segment, export file stem
    queryset: Callable[..., QuerySet]
    filters: dict[str, selectors.Filter]
    record: Callable[[Any], dict[str, Any]]
    key: str = ""  # the record field that names one entry (GET /api/<name>/<key>); blank: list only
    lookup: str = ""  # the model field holding that key
    create: Callable[..., Model] | None = None
    update: Callable[..., Model] | None = None
    importer: Callable[..., Model] | None = None  # what a drop-folder row does; defaults to create
    batch: bool = False  # POST may carry an array of records, each applied on its own
    reference: str = "REFERENCE"  # the field that carries the client's own reference
    children: str = ""  # the nested list a CSV file flattens into one row per child
    child_columns: tuple[str, ...] = ()  # import columns that belong to a child row
    import_prefix: str = ""  # drop-folder file name prefix for imports of this resource
    group_by: tuple[str, ...] = ()  # import columns whose equal values make one document

    def entries(self, *, site: SproSite, params: dict[str, str]) -> QuerySet:
        return selectors.sandbox_sagepro_filter(
            queryset=self.queryset(site=site), filters=self.filters, params=params
        )


RESOURCES = {
    r.name: r
    for r in (
        Resource(
            name="customers",
            key="CUSTNO",
            lookup="custno",
            queryset=selectors.sandbox_sagepro_customer_list,
            filters=selectors.CUSTOMER_FILTERS,
            record=records.customer_record,
            create=services.sandbox_sagepro_customer_create,
            update=services.sandbox_sagepro_customer_update,
            importer=services.sandbox_sagepro_customer_upsert,
            import_prefix="CUSTOMER",
        ),
        Resource(
            name="invoices",
            key="INVNO",
            lookup="invno",
            queryset=selectors.sandbox_sagepro_invoice_list,
            filters=selectors.INVOICE_FILTERS,
            record=records.invoice_record,
            create=services.sandbox_sagepro_invoice_create,
            import_prefix="ARINV",
        ),
        Resource(
            name="payments",
            key="RCPTNO",
            lookup="rcptno",
            queryset=selectors.sandbox_sagepro_receipt_list,
            filters=selectors.RECEIPT_FILTERS,
            record=records.receipt_record,
            create=services.sandbox_sagepro_receipt_post,
            batch=True,
            reference="CHECKNO",
            children="APPLS",
            child_columns=("APPLINVNO", "APPLAMT"),
            import_prefix="ARCASH",
            group_by=("CUSTNO", "CHECKNO", "PAYAMT"),
        ),
        Resource(
            name="orders",
            key="SONO",
            lookup="sono",
            queryset=selectors.sandbox_sagepro_order_list,
            filters=selectors.ORDER_FILTERS,
            record=records.order_record,
            create=services.sandbox_sagepro_order_create,
            reference="PONUM",
            children="LINES",
            child_columns=("ITEM", "LOCTID", "QTYORD", "PRICE"),
            import_prefix="SOORD",
            group_by=("PONUM",),
        ),
        Resource(
            name="journalentries",
            key="BATCH",
            lookup="batch",
            queryset=selectors.sandbox_sagepro_journal_list,
            filters=selectors.JOURNAL_FILTERS,
            record=records.journal_record,
            create=services.sandbox_sagepro_journal_post,
            children="LINES",
            child_columns=("GLACNT", "DEBIT", "CREDIT", "DESCRIPT"),
            import_prefix="GLTRAN",
            group_by=("REFERENCE",),
        ),
        Resource(
            name="paymentnotes",
            key="NOTENO",
            lookup="noteno",
            queryset=selectors.sandbox_sagepro_payment_note_list,
            filters=selectors.PAYMENT_NOTE_FILTERS,
            record=records.payment_note_record,
            create=services.sandbox_sagepro_payment_note_post,
            import_prefix="ARPSTAT",
        ),
        Resource(
            name="items",
            queryset=selectors.sandbox_sagepro_stock_list,
            filters=selectors.STOCK_FILTERS,
            record=records.stock_record,
        ),
    )
}
