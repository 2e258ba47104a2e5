"""Which `<MODULE>/<Resource>` the simulator serves, its shape (`schema.py`: keys and properties from
Sage's artefacts), and what each verb does. The verbs follow the Endpoint Reference's tables (see
tests/contracts/data/sage300/endpoint_reference.json): master data GET/POST/PUT/DELETE/PATCH,
transaction batches GET/POST/PATCH, OEOrders GET/POST, posted documents and receipts GET only, processes
POST `('$process')` only. A verb listed there that the simulator does not implement answers 405, and
the Fidelity notes say which."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from simulators.sage300 import selectors
from simulators.sage300.models import Batch, Company
from simulators.sage300.schema import Shape, shape_of
from simulators.sage300.services.batches import batch_kind, batch_update
from simulators.sage300.services.customers import (
    customer_create,
    customer_delete,
    customer_replace,
    customer_update,
)
from simulators.sage300.services.invoices import invoice_batch_create
from simulators.sage300.services.ledger import journal_batch_create
from simulators.sage300.services.masters import (
    bank_create,
    item_create,
    lookup_create,
    lookup_delete,
    lookup_update,
)
from simulators.sage300.services.orders import order_create
from simulators.sage300.services.posting import batches_post, process_without_effect, receipt_batches_post
from simulators.sage300.services.receipts import receipt_batch_create

Record = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    shape: Shape
    records: Callable[..., list[Record]] | None = None  # GET
    create: Callable[..., Record] | None = None  # POST
    update: Callable[..., None] | None = None  # PATCH (company, key, payload)
    replace: Callable[..., None] | None = None  # PUT
    delete: Callable[..., None] | None = None  # DELETE (company, key)
    process: Callable[..., None] | None = None  # POST ('$process')
    template: Record | None = None  # what POST ('$template') fills in beyond the type's defaults


def _batches(module: str, name: str, kind: str, create: Callable[..., Record], *kinds: str) -> Resource:
    shape = shape_of(module, name)

    def update(*, company: Company, key: dict[str, str], payload: Record) -> None:
        batch_update(
            company=company, kind=batch_kind(default=kind, key=key), shape=shape, key=key, payload=payload
        )

    return Resource(
        shape=shape,
        records=partial(selectors.batches_records, kinds=kinds or (kind,)),
        create=create,
        update=update,
    )


def _lookup(module: str, name: str) -> Resource:
    def update(*, company: Company, key: dict[str, str], payload: Record) -> None:
        lookup_update(company=company, module=module, resource=name, key=key, payload=payload)

    return Resource(
        shape=shape_of(module, name),
        records=partial(selectors.lookup_records, module=module, resource=name),
        create=partial(lookup_create, module=module, resource=name),
        update=update,
        replace=update,
        delete=partial(lookup_delete, module=module, resource=name),
    )


def _process(module: str, name: str, process: Callable[..., None], **template: Any) -> Resource:
    return Resource(shape=shape_of(module, name), process=process, template=template)


# "Postallbatches" is the only PostAllBatches value any Sage artefact shows (SampleIntegration).
_POST_ALL = {"PostAllBatches": "Postallbatches"}

RESOURCES: dict[tuple[str, str], Resource] = {
    ("AR", "ARCustomers"): Resource(
        shape=shape_of("AR", "ARCustomers"),
        records=selectors.customers_records,
        create=customer_create,
        update=customer_update,
        replace=customer_replace,
        delete=customer_delete,
    ),
    ("AR", "ARDistributionCodes"): _lookup("AR", "ARDistributionCodes"),
    ("AR", "ARPostedDocuments"): Resource(
        shape=shape_of("AR", "ARPostedDocuments"), records=selectors.documents_records
    ),
    ("AR", "ARPostedReceipts"): Resource(
        shape=shape_of("AR", "ARPostedReceipts"), records=selectors.posted_receipts_records
    ),
    ("AR", "ARInvoiceBatches"): _batches(
        "AR", "ARInvoiceBatches", Batch.Kind.AR_INVOICE, invoice_batch_create
    ),
    ("AR", "ARReceiptAndAdjustmentBatches"): _batches(
        "AR",
        "ARReceiptAndAdjustmentBatches",
        Batch.Kind.AR_RECEIPT,
        receipt_batch_create,
        Batch.Kind.AR_RECEIPT,
        Batch.Kind.AR_ADJUSTMENT,
    ),
    ("AR", "ARPostInvoices"): _process(
        "AR", "ARPostInvoices", partial(batches_post, kind=Batch.Kind.AR_INVOICE), **_POST_ALL
    ),
    ("AR", "ARPostReceiptsAndAdjustments"): _process(
        "AR", "ARPostReceiptsAndAdjustments", receipt_batches_post, **_POST_ALL, BatchType="CA"
    ),
    ("AR", "ARCreateGLBatch"): _process("AR", "ARCreateGLBatch", process_without_effect),
    ("OE", "OEOrders"): Resource(
        shape=shape_of("OE", "OEOrders"), records=selectors.orders_records, create=order_create
    ),
    ("OE", "OEMiscellaneousCharges"): _lookup("OE", "OEMiscellaneousCharges"),
    ("GL", "GLAccounts"): Resource(shape=shape_of("GL", "GLAccounts"), records=selectors.accounts_records),
    ("GL", "GLJournalBatches"): _batches(
        "GL", "GLJournalBatches", Batch.Kind.GL_JOURNAL, journal_batch_create
    ),
    ("GL", "GLPostJournal"): _process(
        "GL", "GLPostJournal", partial(batches_post, kind=Batch.Kind.GL_JOURNAL), **_POST_ALL
    ),
    ("BK", "BKBanks"): Resource(
        shape=shape_of("BK", "BKBanks"), records=selectors.banks_records, create=bank_create
    ),
    ("IC", "ICItems"): Resource(
        shape=shape_of("IC", "ICItems"), records=selectors.items_records, create=item_create
    ),
    ("IC", "ICLocations"): _lookup("IC", "ICLocations"),
    ("CS", "CSCurrencyRates"): _lookup("CS", "CSCurrencyRates"),
    ("IC", "ICDayEndProcessing"): _process("IC", "ICDayEndProcessing", process_without_effect),
}
