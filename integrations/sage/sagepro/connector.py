"""`SageProConnector`: the `ErpConnector` for Sage Pro over either transport of our contract.

The connector maps our dataclasses to the contract's records and back; a transport (REST gateway or
CSV drop folder) moves records. Both transports raise or return the same `ErpError`s.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from integrations.sage.base import (
    BatchItemResult,
    ConnectionCheck,
    CreditMemoData,
    CustomerData,
    ErpCustomer,
    ErpDocument,
    ErpError,
    ErpInvoice,
    ErpPermanentError,
    InvoiceData,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    StatusNoteData,
    StockLevel,
)
from integrations.sage.connector import ConnectorSettings, ErpConnector
from integrations.sage.sagepro import contract
from integrations.sage.sagepro.csvdrop import CsvDropFolder
from integrations.sage.sagepro.rest import RestGateway

DEFAULT_IMPORT_WAIT_SECONDS = 30.0


class SageProTransport(Protocol):
    def ping(self) -> str: ...

    def entries(self, resource: str, **filters: str) -> Iterator[dict[str, Any]]: ...

    def entry(self, resource: str, key: str) -> dict[str, Any] | None: ...

    def find(self, resource: str, reference: str) -> list[dict[str, Any]]: ...

    def create(self, resource: str, records: list[dict[str, Any]]) -> list[dict[str, Any] | ErpError]: ...

    def update(self, resource: str, key: str, record: dict[str, Any]) -> dict[str, Any]: ...

    def transcript_take(self) -> list[dict[str, Any]]: ...


class SageProConnector(ErpConnector):
    system = "sage_pro"
    default_receipt_batch_size = 50
    transport: SageProTransport

    def __init__(self, *, settings: ConnectorSettings):
        """Options: transport rest (default, see `RestGateway`) | csv: drop_folder, import_wait_seconds."""
        options = settings.options
        kind = options.get("transport", "rest")
        transport: SageProTransport
        if kind == "csv":
            transport = CsvDropFolder(
                folder=options.get("drop_folder", ""),
                wait_seconds=float(options.get("import_wait_seconds", DEFAULT_IMPORT_WAIT_SECONDS)),
            )
        elif kind == "rest":
            transport = RestGateway(settings=settings)
        else:
            raise ValueError(f"Sage Pro transport must be rest or csv, not {kind!r}")
        super().__init__(settings=settings, transport=transport)

    def _create_one(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        answer = self.transport.create(resource, [record])[0]
        if isinstance(answer, ErpError):
            raise answer
        return answer

    # --- ErpConnector -------------------------------------------------------------------------------

    def connection_test(self) -> ConnectionCheck:
        try:
            return ConnectionCheck(ok=True, message=self.transport.ping())
        except ErpError as exc:
            return ConnectionCheck(ok=False, message=str(exc), error=exc)

    def customer_upsert(self, *, customer: CustomerData) -> ErpCustomer:
        """Update the customer named by number, else the one carrying our reference, else create."""
        existing = None
        if customer.number:
            existing = self.customer_get(number=customer.number)
        elif customer.reference:
            matches = self.transport.entries("customers", reference=customer.reference)
            existing = next(map(contract.customer_from_record, matches), None)
        record = contract.customer_record(customer)
        if existing is None:
            return contract.customer_from_record(self._create_one("customers", record))
        # Blank fields of ours must not wipe what finance keyed into Sage Pro.
        changes = {k: v for k, v in record.items() if v and k != "CUSTNO"}
        return contract.customer_from_record(self.transport.update("customers", existing.number, changes))

    def customer_get(self, *, number: str) -> ErpCustomer | None:
        record = self.transport.entry("customers", number)
        return contract.customer_from_record(record) if record else None

    def customer_find_by_email(self, *, email: str) -> list[ErpCustomer]:
        return [contract.customer_from_record(r) for r in self.transport.entries("customers", email=email)]

    def customer_find_by_name(self, *, name: str) -> list[ErpCustomer]:
        return [contract.customer_from_record(r) for r in self.transport.entries("customers", company=name)]

    def customers_changed(self, *, since: datetime | None) -> Iterator[ErpCustomer]:
        filters = {"updated_since": since.isoformat()} if since else {}
        return (contract.customer_from_record(r) for r in self.transport.entries("customers", **filters))

    def invoices_open(self, *, customer_number: str) -> list[ErpInvoice]:
        records = self.transport.entries("invoices", custno=customer_number, open="1")
        return [contract.invoice_from_record(r) for r in records]

    def invoice_get(self, *, number: str) -> ErpInvoice | None:
        record = self.transport.entry("invoices", number)
        return contract.invoice_from_record(record) if record else None

    def invoices_changed(self, *, since: datetime | None) -> Iterator[ErpInvoice]:
        """`/api/invoices?doctype=IN&updated_since=` on the gateway; the same filter over
        `export/invoices.csv` on the drop folder."""
        filters = {"doctype": "IN", **({"updated_since": since.isoformat()} if since else {})}
        return (contract.invoice_from_record(r) for r in self.transport.entries("invoices", **filters))

    def sales_order_create(self, *, order: SalesOrderData) -> ErpDocument:
        record = self._create_one("orders", contract.order_record(order))
        return contract.document_from_record("sales_order", record)

    def receipt_batch_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        """One round trip, each receipt answered on its own."""
        answers = self.transport.create("payments", [contract.receipt_record(r) for r in receipts])
        return [
            BatchItemResult(receipt.reference, error=answer)
            if isinstance(answer, ErpError)
            else BatchItemResult(receipt.reference, document=contract.document_from_record("receipt", answer))
            for receipt, answer in zip(receipts, answers, strict=True)
        ]

    def receipt_reverse(self, *, reversal: ReversalData) -> ErpDocument:
        rcptno = reversal.original_document_number
        if not rcptno:
            original = self.document_find(document_type="receipt", reference=reversal.original_reference)
            if original is None:
                raise ErpPermanentError(
                    f"no receipt carries reference {reversal.original_reference}", code="UNKNOWN_RECEIPT"
                )
            rcptno = original.number
        record = self._create_one("payments", contract.reversal_record(reversal, rcptno=rcptno))
        return contract.document_from_record("reversal", record)

    def credit_memo_post(self, *, memo: CreditMemoData) -> ErpDocument:
        record = self._create_one("invoices", contract.memo_record(memo))
        return contract.document_from_record("credit_memo", record)

    def invoice_create(self, *, invoice: InvoiceData) -> ErpDocument:
        record = self._create_one("invoices", contract.invoice_record(invoice))
        return contract.document_from_record("invoice", record)

    def journal_entry_post(self, *, entry: JournalEntryData) -> ErpDocument:
        record = self._create_one("journalentries", contract.journal_record(entry))
        return contract.document_from_record("journal_entry", record)

    def status_note_write(self, *, note: StatusNoteData) -> ErpDocument:
        """A payment note: the invoice's PAYSTATUS becomes the note's (contract: paymentnotes)."""
        record = self._create_one("paymentnotes", contract.status_note_record(note))
        return contract.document_from_record("status_note", record)

    def document_find(self, *, document_type: str, reference: str) -> ErpDocument | None:
        """Look a document up by our reference. In the drop folder, a reference still waiting in in/
        raises `ErpTransientError(code="IMPORT_PENDING", maybe_applied=True)`: it exists but has no
        Sage Pro number yet, so the caller must wait, not post again."""
        resource = contract.DOCUMENT_RESOURCES[document_type]
        for record in self.transport.find(resource, reference):
            if contract.document_matches(document_type, record):
                return contract.document_from_record(document_type, record)
        return None

    def stock_levels(self, *, skus: list[str]) -> list[StockLevel]:
        if not skus:
            return []
        return [contract.stock_from_record(r) for r in self.transport.entries("items", item=",".join(skus))]
