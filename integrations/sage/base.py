"""The typed values that cross `ErpConnector` (integrations/sage/connector.py), and its errors.

All other code talks to Sage X3, Sage 300 and Sage Pro through `ErpConnector`; nothing outside
`integrations/sage/` knows an ERP's field names. Amounts are Decimal, dates are `date`.
"""

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from portal.pci import redact


class ErpError(Exception):
    """An ERP refused or failed a call. `code` and `message` are the ERP's own, with card numbers masked
    (and `raw` redacted) as the error is made: an ERP may echo what finance typed."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None, raw: Any = None):
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.raw = redact(raw)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code else self.message


class ErpTransientError(ErpError):
    """Worth retrying later: timeout, connection error, 5xx, 429 / TooManyRequests, locks."""

    def __init__(self, message: str, *, maybe_applied: bool = False, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.maybe_applied = maybe_applied


class ErpPermanentError(ErpError):
    """Retrying the same request cannot succeed: validation, unknown account, customer or item."""


class ReadFromErp:
    """What a connector reads from an ERP is masked as the value is made: every text field has its card
    numbers masked and the raw record is redacted, so no connector can hand a card number on, whatever
    finance typed into a customer's name or address. The ERP's own keys (`identifiers`) stay as they are:
    masking one could make two records one."""

    identifiers: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if item.name not in self.identifiers and isinstance(value, str | dict | list):
                object.__setattr__(self, item.name, redact(value))


@dataclass(frozen=True)
class Address(ReadFromErp):
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class CustomerData:
    """What we send: `number` blank lets the ERP number a new customer."""

    name: str
    email: str = ""
    phone: str = ""
    number: str = ""
    currency: str = "USD"
    address: Address = field(default_factory=Address)
    reference: str = ""  # our customer reference (PayTrace customer id), kept by the ERP where it can


@dataclass(frozen=True)
class ErpCustomer(ReadFromErp):
    identifiers = frozenset({"number"})

    number: str
    name: str
    email: str = ""
    phone: str = ""
    currency: str = ""
    address: Address = field(default_factory=Address)
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ErpInvoice(ReadFromErp):
    identifiers = frozenset({"number", "customer_number"})

    number: str
    customer_number: str
    currency: str
    amount: Decimal
    balance: Decimal
    issued_on: date
    due_on: date | None = None
    reference: str = ""  # the order / storefront reference the invoice carries, if any
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SalesOrderLine:
    sku: str
    quantity: Decimal
    unit_price: Decimal
    description: str = ""


@dataclass(frozen=True)
class SalesOrderData:
    reference: str  # storefront order id
    customer_number: str
    currency: str
    order_date: date
    lines: tuple[SalesOrderLine, ...]
    defaults: dict[str, str] = field(default_factory=dict)  # FieldDefault rows, e.g. SALFCY


@dataclass(frozen=True)
class ReceiptApplication:
    invoice_number: str
    amount: Decimal


@dataclass(frozen=True)
class ReceiptData:
    reference: str  # PayTrace transaction id
    customer_number: str
    amount: Decimal
    currency: str
    receipt_date: date
    payment_code: str  # PaymentMethodMapping: PAYTYP / PaymentCode
    bank_code: str = ""
    cash_account: str = ""
    applications: tuple[ReceiptApplication, ...] = ()
    description: str = ""
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def unapplied(self) -> Decimal:
        return self.amount - sum((a.amount for a in self.applications), Decimal("0"))


@dataclass(frozen=True)
class CreditMemoData:
    reference: str  # PayTrace refund transaction id
    customer_number: str
    amount: Decimal
    currency: str
    document_date: date
    original_reference: str = ""  # the sale's PayTrace id
    invoice_number: str = ""  # the invoice it credits, if any
    account: str = ""  # GL refunds account
    description: str = ""
    defaults: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReversalData:
    """Undo a posted receipt (a void of a posted sale, or an un-application)."""

    reference: str
    original_reference: str  # the receipt's reference
    original_document_number: str
    customer_number: str
    amount: Decimal
    currency: str
    document_date: date
    description: str = ""


@dataclass(frozen=True)
class JournalLine:
    account: str
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    description: str = ""


@dataclass(frozen=True)
class JournalEntryData:
    reference: str
    entry_date: date
    currency: str
    description: str
    lines: tuple[JournalLine, ...]
    defaults: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvoiceData:
    """An AR invoice we raise (a subscription's period): one summary line on a revenue account."""

    reference: str  # ours, e.g. SUB-<subscription>-<period start>; the ERP invoice carries it
    customer_number: str
    amount: Decimal
    currency: str
    invoice_date: date
    due_date: date
    description: str = ""
    account: str = ""  # GL revenue account
    defaults: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusNoteData:
    """A declined or failed payment's status written back to the ERP: on the invoice it carried, else the
    order's sales order, else the customer. Each ERP keeps `reference` so a retry finds the note."""

    reference: str  # ours: the PayTrace transaction id
    customer_number: str
    erp_status: str  # StatusMapping.erp_status, e.g. "Payment Failed"
    note: str
    note_date: date
    invoice_number: str = ""
    order_number: str = ""  # the ERP's sales order number


@dataclass(frozen=True)
class ErpDocument:
    document_type: str  # ErpPosting.DocumentType value
    number: str  # the ERP's own document number
    reference: str  # ours
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location: str
    on_hand: Decimal
    allocated: Decimal

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.allocated


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    # What refused the check, for callers that classify it rather than show the message (which may quote
    # the other side's answer).
    error: Exception | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BatchItemResult:
    """One receipt of a batched post: either a document or the error that refused it."""

    reference: str
    document: ErpDocument | None = None
    error: ErpError | None = None
