"""`ErpConnector`: the one interface all other code uses to talk to an ERP, and the base every ERP's
connector subclasses.

The base owns what every ERP shares:
- being built from a `Connection` (`ConnectorSettings`: credentials, options, timeout, batch size, and
  the `HttpTransport` an HTTP connector sends through);
- the transcript of the calls made since it was last taken;
- sending a document exactly once (`document_send`): a posting tried before is first looked up in the ERP
  by our reference, and only sent when the ERP does not hold it;
- receipts in batches of `receipt_batch_size`, one result per receipt, and no more batches sent once the
  ERP is down.
Error classification lives beside it, in `integrations.sage.errors`. An ERP's connector writes its payloads,
its look-up by our reference (`document_find`) and its error mapping; nothing outside its package knows its
field names. Amounts are Decimal, dates are `date`."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Protocol, Self, TypeVar

from integrations.http import DEFAULT_TIMEOUT_SECONDS, HttpTransport
from integrations.models import Connection, ErpPosting
from integrations.sage.base import (
    BatchItemResult,
    ConnectionCheck,
    CreditMemoData,
    CustomerData,
    ErpCustomer,
    ErpDocument,
    ErpError,
    ErpInvoice,
    ErpTransientError,
    InvoiceData,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    StatusNoteData,
    StockLevel,
)
from integrations.sage.rates import RateQuote

DocumentType = ErpPosting.DocumentType
T = TypeVar("T")


class Transcribed(Protocol):
    """Whatever moves a connector's calls (an `HttpTransport`, a drop folder) and records them."""

    def transcript_take(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ConnectorSettings:
    """A Connection as a connector reads it: its address, secrets and options, and the two settings every
    ERP takes (`timeout`, `receipt_batch_size`)."""

    name: str  # the connection, as messages name it
    base_url: str
    credentials: Mapping[str, Any] = field(repr=False)  # secrets: never in a log or a traceback
    options: Mapping[str, Any]
    timeout: float
    receipt_batch_size: int

    @classmethod
    def of(cls, *, connection: Connection, receipt_batch_size: int) -> "ConnectorSettings":
        options = dict(connection.options or {})
        return cls(
            name=str(connection),
            base_url=connection.base_url,
            credentials=dict(connection.credentials or {}),
            options=options,
            timeout=float(options.get("timeout") or DEFAULT_TIMEOUT_SECONDS),
            receipt_batch_size=max(1, int(options.get("receipt_batch_size") or receipt_batch_size)),
        )

    @property
    def basic_auth(self) -> tuple[str, str]:
        return str(self.credentials.get("username", "")), str(self.credentials.get("password", ""))

    def http(
        self,
        *,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> HttpTransport:
        """The transport to the connection's address (or `base_url`), with its timeout."""
        return HttpTransport(
            base_url=base_url or self.base_url, timeout=self.timeout, headers=headers or {}, auth=auth
        )


@dataclass(frozen=True)
class DocumentSent:
    document: ErpDocument
    found_existing: bool  # an earlier attempt had reached the ERP: nothing was sent this time


def chunked(*, items: list[T], size: int) -> list[list[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class ErpConnector(ABC):
    system: ClassVar[str]  # the ERP's code in `integrations.erps`
    default_receipt_batch_size: ClassVar[int] = 20
    rate_table: ClassVar[str] = ""  # the ERP's exchange-rate resource, when it publishes one
    # What a payment's status note may be written on (`status_note_write`): invoice, order, customer.
    status_note_targets: ClassVar[frozenset[str]] = frozenset({"invoice", "order", "customer"})

    def __init__(self, *, settings: ConnectorSettings, transport: Transcribed):
        self.settings = settings
        self.transport = transport
        self.receipt_batch_size = settings.receipt_batch_size  # receipts one round trip may carry

    @classmethod
    def from_connection(cls, connection: Connection) -> Self:
        batch_size = cls.default_receipt_batch_size
        return cls(settings=ConnectorSettings.of(connection=connection, receipt_batch_size=batch_size))

    def transcript_take(self) -> list[dict[str, Any]]:
        """The calls made since the last take (redacted, JSON-storable), for the attempt log."""
        return self.transport.transcript_take()

    # --- sending a document exactly once ------------------------------------------------------------

    def document_find_before_retry(
        self, *, document_type: str, reference: str, retried: bool
    ) -> ErpDocument | None:
        """Did an earlier attempt reach the ERP after all (a write applied whose answer was lost)? A first
        attempt costs no look-up."""
        if not retried:
            return None
        return self.document_find(document_type=document_type, reference=reference)

    def document_send(
        self, *, document_type: str, reference: str, build: Callable[[], Any], retried: bool
    ) -> DocumentSent:
        """Send one document unless an earlier attempt already got it in. `build` makes the typed document
        only when it is to be sent: building may itself ask the ERP (a customer's number)."""
        existing = self.document_find_before_retry(
            document_type=document_type, reference=reference, retried=retried
        )
        if existing is not None:
            return DocumentSent(existing, found_existing=True)
        document = self.document_post(document_type=document_type, document=build())
        return DocumentSent(document, found_existing=False)

    def document_post(self, *, document_type: str, document: Any) -> ErpDocument:
        """Send a built document the way its type goes."""
        if document_type == DocumentType.RECEIPT:
            (result,) = self.receipts_post(receipts=[document])
            if result.error is not None:
                raise result.error
            assert result.document is not None  # one of the two is always set
            return result.document
        if document_type == DocumentType.CUSTOMER:  # an upsert answers with the customer
            customer = self.customer_upsert(customer=document)
            return ErpDocument(document_type, customer.number, document.reference)
        senders: dict[str, Callable[[], ErpDocument]] = {
            DocumentType.SALES_ORDER: lambda: self.sales_order_create(order=document),
            DocumentType.CREDIT_MEMO: lambda: self.credit_memo_post(memo=document),
            DocumentType.REVERSAL: lambda: self.receipt_reverse(reversal=document),
            DocumentType.JOURNAL_ENTRY: lambda: self.journal_entry_post(entry=document),
            DocumentType.INVOICE: lambda: self.invoice_create(invoice=document),
            DocumentType.STATUS_NOTE: lambda: self.status_note_write(note=document),
        }
        if document_type not in senders:
            raise ValueError(f"{self.system} cannot send a {document_type!r}")
        return senders[document_type]()

    # --- receipts in batches ------------------------------------------------------------------------

    def receipts_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        """One result per receipt, in the order given. After a batch fails transiently (the ERP down or
        locked) the batches after it are not sent, and their receipts say so."""
        results: dict[int, BatchItemResult] = {}
        outage: ErpTransientError | None = None
        for indexes in self.receipt_batches(receipts=receipts):
            batch = [receipts[index] for index in indexes]
            answers: list[BatchItemResult]
            if outage is not None:
                error = ErpTransientError(f"not sent after: {outage}", code="NOT_SENT")
                answers = [BatchItemResult(receipt.reference, error=error) for receipt in batch]
            else:
                try:
                    answers = self.receipt_batch_post(receipts=batch)
                except ErpError as exc:
                    outage = exc if isinstance(exc, ErpTransientError) else None
                    answers = [BatchItemResult(receipt.reference, error=exc) for receipt in batch]
            results.update(zip(indexes, answers, strict=True))
        return [results[index] for index in range(len(receipts))]

    def receipt_batches(self, *, receipts: list[ReceiptData]) -> list[list[int]]:
        """Which receipts share a round trip (their positions): `receipt_batch_size` at a time."""
        return chunked(items=list(range(len(receipts))), size=self.receipt_batch_size)

    @abstractmethod
    def receipt_batch_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        """One round trip's receipts: a result each, in order. Raising `ErpError` fails them all."""

    # --- what each ERP writes -----------------------------------------------------------------------

    @abstractmethod
    def connection_test(self) -> ConnectionCheck: ...

    @abstractmethod
    def customer_upsert(self, *, customer: CustomerData) -> ErpCustomer: ...

    @abstractmethod
    def customer_get(self, *, number: str) -> ErpCustomer | None: ...

    @abstractmethod
    def customer_find_by_email(self, *, email: str) -> list[ErpCustomer]: ...

    @abstractmethod
    def customer_find_by_name(self, *, name: str) -> list[ErpCustomer]: ...

    @abstractmethod
    def customers_changed(self, *, since: datetime | None) -> Iterator[ErpCustomer]: ...

    @abstractmethod
    def invoices_open(self, *, customer_number: str) -> list[ErpInvoice]: ...

    @abstractmethod
    def invoice_get(self, *, number: str) -> ErpInvoice | None: ...

    @abstractmethod
    def invoices_changed(self, *, since: datetime | None) -> Iterator[ErpInvoice]:
        """Invoices created or changed since `since` (every invoice when None), paid and credited ones
        included, page after page. An ERP whose change stamp is a date answers from the day before:
        seeing an invoice twice is harmless to the upsert that reads them."""

    @abstractmethod
    def sales_order_create(self, *, order: SalesOrderData) -> ErpDocument: ...

    @abstractmethod
    def invoice_create(self, *, invoice: InvoiceData) -> ErpDocument:
        """An AR invoice carrying our reference, open for its amount; `document_find("invoice", ref)`
        finds it again."""

    @abstractmethod
    def receipt_reverse(self, *, reversal: ReversalData) -> ErpDocument: ...

    @abstractmethod
    def credit_memo_post(self, *, memo: CreditMemoData) -> ErpDocument: ...

    @abstractmethod
    def journal_entry_post(self, *, entry: JournalEntryData) -> ErpDocument: ...

    @abstractmethod
    def status_note_write(self, *, note: StatusNoteData) -> ErpDocument:
        """A declined or failed payment's status on its invoice (else order, else customer), carrying
        our reference; `document_find("status_note", ref)` finds it again."""

    @abstractmethod
    def document_find(self, *, document_type: str, reference: str) -> ErpDocument | None:
        """A document of ours, found by our reference whether or not we ever saw the ERP's answer."""

    @abstractmethod
    def stock_levels(self, *, skus: list[str]) -> list[StockLevel]: ...

    def currency_rate(self, *, from_currency: str, to_currency: str, on: date) -> RateQuote | None:
        """The ERP's own rate for `on`, or None: an ERP without a published rate table (`rate_table`
        blank) leaves conversions to Paysage's currency rates."""
        return None
