"""Which `<MODULE>/<Resource>` the simulator serves, its key, and what each verb does with it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulators.sage300 import selectors
from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company
from simulators.sage300.services.customers import customer_create, customer_update
from simulators.sage300.services.invoices import invoice_batch_create
from simulators.sage300.services.ledger import journal_batch_create
from simulators.sage300.services.orders import order_create
from simulators.sage300.services.posting import batches_post
from simulators.sage300.services.receipts import receipt_batch_create

Record = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    key: tuple[str, ...] = ()
    records: Callable[..., list[Record]] | None = None
    create: Callable[..., Record] | None = None
    update: Callable[..., None] | None = None
    process: Callable[..., Record] | None = None
    template: Record | None = None


def _batches(kind: str) -> Callable[..., list[Record]]:
    return lambda *, company: selectors.batches_records(company=company, kind=kind)


def _receipt_batches(*, company: Company) -> list[Record]:
    return selectors.batches_records(company=company, kind=Batch.Kind.AR_RECEIPT) + selectors.batches_records(
        company=company, kind=Batch.Kind.AR_ADJUSTMENT
    )


def _poster(kind: str) -> Callable[..., Record]:
    return lambda *, company, payload: batches_post(company=company, kind=kind, payload=payload)


def _receipts_post(*, company: Company, payload: Record) -> Record:
    kinds = {"CA": Batch.Kind.AR_RECEIPT, "AD": Batch.Kind.AR_ADJUSTMENT}
    if payload.get("BatchType") not in kinds:
        raise field_invalid(f'Batch type "{payload.get("BatchType")}" is not valid; use CA or AD.')
    return batches_post(company=company, kind=kinds[payload["BatchType"]], payload=payload)


_POST_TEMPLATE = {"PostAllBatches": "Postallbatches", "PostBatchFrom": 0, "PostBatchTo": 0}

RESOURCES: dict[tuple[str, str], Resource] = {
    ("AR", "ARCustomers"): Resource(
        key=("CustomerNumber",),
        records=selectors.customers_records,
        create=customer_create,
        update=customer_update,
    ),
    ("AR", "ARPostedDocuments"): Resource(
        key=("CustomerNumber", "DocumentNumber", "PaymentNumber"), records=selectors.documents_records
    ),
    ("AR", "ARPostedReceipts"): Resource(
        key=("CustomerNumber", "CheckReceiptNumber"), records=selectors.posted_receipts_records
    ),
    ("AR", "ARInvoiceBatches"): Resource(
        key=("BatchNumber",), records=_batches(Batch.Kind.AR_INVOICE), create=invoice_batch_create
    ),
    ("AR", "ARReceiptAndAdjustmentBatches"): Resource(
        key=("BatchRecordType", "BatchNumber"), records=_receipt_batches, create=receipt_batch_create
    ),
    ("AR", "ARPostInvoices"): Resource(process=_poster(Batch.Kind.AR_INVOICE), template=_POST_TEMPLATE),
    ("AR", "ARPostReceiptsAndAdjustments"): Resource(
        process=_receipts_post, template={**_POST_TEMPLATE, "BatchType": "CA"}
    ),
    ("OE", "OEOrders"): Resource(
        key=("OrderUniquifier",), records=selectors.orders_records, create=order_create
    ),
    ("GL", "GLAccounts"): Resource(key=("UnformattedAccount",), records=selectors.accounts_records),
    ("GL", "GLJournalBatches"): Resource(
        key=("BatchNumber",), records=_batches(Batch.Kind.GL_JOURNAL), create=journal_batch_create
    ),
    ("GL", "GLPostJournal"): Resource(process=_poster(Batch.Kind.GL_JOURNAL), template=_POST_TEMPLATE),
    ("BK", "BKBanks"): Resource(key=("BankCode",), records=selectors.banks_records),
    ("IC", "ICItems"): Resource(key=("ItemNumber",), records=selectors.items_records),
    ("IC", "ICLocationDetails"): Resource(
        key=("ItemNumber", "Location"), records=selectors.item_locations_records
    ),
}
