"""Our Sage Pro integration contract (Paysage's design: Sage Pro ships no public API).

Sage Pro (SBT lineage) keeps its data in Visual FoxPro tables, so every field is an upper-case name of
at most 10 characters. A site exposes the same records in one of two ways; the connector speaks both.

Records (the same field names in JSON and in CSV columns)
  customers       CUSTNO (key; blank on create = numbered by Sage Pro), COMPANY, ADDRESS1, ADDRESS2, CITY,
                  STATE, ZIP, COUNTRY (ISO alpha-2), PHONE, EMAIL, TERMS, CREDITLMT, CURRENCY, REFERENCE (our
                  PayTrace customer id), UPDATED (ISO 8601 UTC, read-only)
  invoices        INVNO (key), DOCTYPE (IN invoice | CM credit memo), CUSTNO, INVDATE, DUEDATE, INVAMT,
                  BALANCE (an invoice never below 0; a memo's open credit is negative), CURRENCY, PONUM
                  (storefront order id), REFERENCE (our refund id on a CM, our subscription period on an
                  IN), GLACCT, APPLINVNO (the invoice a CM credits), DESCRIPT, UPDATED. We create CM
                  documents, and IN documents for subscription periods (numbered by Sage Pro).
  payments        AR cash receipts. RCPTNO (key, numbered by Sage Pro), CUSTNO, CHECKNO (our PayTrace
                  transaction id), PAYDATE, PAYAMT, UNAPPLIED (the remainder left on account), CURRENCY,
                  PAYCODE, BANKNO, GLACCT (cash / card-clearing account), BATCH, DESCRIPT, STATUS (POSTED |
                  REVERSED | REVERSAL), REVERSES (set on create: the RCPTNO this row reverses; the reversal
                  is its own receipt with a negative PAYAMT), APPLS [{APPLINVNO, APPLAMT}]. CUSTNO + CHECKNO
                  + PAYAMT is unique: a second receipt with the same three is refused as DUPLICATE_RECEIPT.
  orders          SONO (key), CUSTNO, ORDDATE, PONUM (storefront order id, unique), CURRENCY, STATUS (OPEN |
                  BACKORDER), LINES [{ITEM, LOCTID, QTYORD, PRICE, QTYALLOC, QTYBACK}]: stock is allocated
                  on create, what is short is back-ordered.
  paymentnotes    a payment's status written back (a declined or failed PayTrace payment). NOTENO (key,
                  numbered by Sage Pro), CUSTNO, INVNO (the invoice it concerns, if any), SONO (else the
                  order), PAYSTATUS (e.g. "Payment Failed"), NOTE, REFERENCE (ours, unique:
                  DUPLICATE_REFERENCE), NOTEDATE. Writing one sets its invoice's PAYSTATUS, which invoices
                  carry read-only (blank until a note sets it).
  journalentries  BATCH (key), TRANDATE, REFERENCE (ours, unique), DESCRIPT, LINES [{GLACNT, DEBIT, CREDIT,
                  DESCRIPT}]; accounts must be in the chart and the batch balanced.
  items           read-only stock: ITEM, DESCRIP, PRICE, LOCTID, ONHAND, ALLOC (one row per location)
Money and quantities travel as decimal strings ("125.00"), dates as YYYY-MM-DD. Every record but an item
also carries UPDATED (ISO 8601 UTC, read-only), the field `updated_since` filters on.

Transport 1: the REST gateway (`base_url` = the gateway root, e.g. http://host/sandbox/sagepro)
  Auth: header `X-Api-Key: <api key>`, or HTTP Basic with the site id and the api key as password.
  GET  /api/site                               who am I: {SITE, COMPANY, VERSION, TIME}
  GET  /api/<resource>?<filters>&page=&page_size=   list; page_size default 50, max 200. Answer:
       {"count", "page", "page_size", "next": <absolute URL of the next page or null>, "results": [...]}
       filters: customers custno, email (exact, any case), company (contains), reference, updated_since;
       invoices custno, open=1 (IN with BALANCE > 0, oldest first), doctype, ponum, reference,
       updated_since; payments custno, checkno, reference (= CHECKNO), batch, status, updated_since;
       orders custno, ponum, reference (= PONUM), updated_since; journalentries reference, batch,
       updated_since; paymentnotes custno, invno, reference, updated_since; items item
       (comma-separated), loctid. An unknown filter is a 400.
  GET  /api/<resource>/<key>                   one record, 404 when absent
  POST /api/<resource>                         create, 201 + the record. /api/payments also takes an array
       (at most 200): 200 {"results": [{"row": n, "status": "ok", "record": {...}} |
                                        {"row": n, "status": "error", "error": {...}}]}, each row on its own
  PUT  /api/customers/<CUSTNO>                 partial update, 200 + the record
  Errors: {"error": {"code", "message", "field"}}. 400 BAD_JSON / INVALID_*, 401 AUTH_FAILED, 404
  NOT_FOUND, 409 DUPLICATE_RECEIPT / DUPLICATE_PONUM / DUPLICATE_REFERENCE / DUPLICATE_CUSTNO /
  ALREADY_REVERSED, 422 validation (REQUIRED, UNKNOWN_CUSTOMER, UNKNOWN_ITEM, UNKNOWN_ACCOUNT,
  UNKNOWN_INVOICE, APPLY_EXCEEDS_BALANCE, OVER_APPLIED, UNBALANCED, CURRENCY_MISMATCH, ...); 423
  TABLE_LOCKED (a FoxPro table is locked), 429 RATE_LIMITED and 503 SERVICE_UNAVAILABLE are answered
  before anything is written; retry them.

Transport 2: the CSV drop folder (option `drop_folder`)
  in/      we drop `<PREFIX>_<UTC stamp>_<id>.csv` (written as a dot-temp file, then renamed), PREFIX
           CUSTOMER (upsert: a known CUSTNO updates), ARINV, ARCASH, SOORD, GLTRAN or ARPSTAT
           (paymentnotes). Child lists are
           flattened, one row per child with the parent's columns repeated: ARCASH rows with the same
           CUSTNO + CHECKNO + PAYAMT are one receipt (APPLINVNO, APPLAMT per row, blank = on account);
           SOORD rows with one PONUM are one order (ITEM, LOCTID, QTYORD, PRICE); GLTRAN rows with one
           REFERENCE are one batch (GLACNT, DEBIT, CREDIT, DESCRIPT). A journal line's DESCRIPT and its
           batch's share one column, which holds the line's: over CSV a batch's own DESCRIPT is not kept.
  out/     Sage Pro's scheduled import answers `<same stem>.result.csv`: ROW (first data row of the
           document, 1-based), REFERENCE, STATUS (OK | ERROR), DOCNO, CODE, MESSAGE (same codes as above).
  archive/ imported files.
  export/  `<resource>.csv` for every resource above, flattened the same way, refreshed by each import
           before its result file is written and its input archived.
  A document is therefore always in exactly one place we can see: pending in in/, or in the exports.
  We wait up to `import_wait_seconds` for a result; past that every document of the file answers
  ErpTransientError IMPORT_PENDING (maybe applied), and `document_find` keeps answering IMPORT_PENDING
  while its reference sits in in/: it exists but has no Sage Pro number yet, so never post it again.

Error mapping (both transports): TABLE_LOCKED, SERVICE_UNAVAILABLE, RATE_LIMITED, IMPORT_PENDING, HTTP
423/429/5xx, timeouts and connection errors are `ErpTransientError` (`maybe_applied` when a write may have
landed: a read timeout, a 5xx other than 503); every other refusal is `ErpPermanentError` with the code
and message (prefixed with the field). A refused row of a batch is that receipt's `BatchItemResult.error`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from integrations.sage.base import (
    Address,
    CreditMemoData,
    CustomerData,
    ErpCustomer,
    ErpDocument,
    ErpError,
    ErpInvoice,
    InvoiceData,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    StatusNoteData,
    StockLevel,
)
from integrations.sage.errors import ErpErrors, ErrorParts
from portal.money import money_quantize

TRANSIENT_CODES = frozenset({"SERVICE_UNAVAILABLE", "TABLE_LOCKED", "RATE_LIMITED", "IMPORT_PENDING"})
TRANSIENT_STATUSES = frozenset({423, 429})


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    key: str  # the field that holds Sage Pro's document number
    reference: str  # the field that holds our reference
    import_prefix: str = ""
    children: str = ""
    child_columns: tuple[str, ...] = ()


RESOURCES = {
    spec.name: spec
    for spec in (
        ResourceSpec("customers", "CUSTNO", "REFERENCE", "CUSTOMER"),
        ResourceSpec("invoices", "INVNO", "REFERENCE", "ARINV"),
        ResourceSpec("payments", "RCPTNO", "CHECKNO", "ARCASH", "APPLS", ("APPLINVNO", "APPLAMT")),
        ResourceSpec(
            "orders",
            "SONO",
            "PONUM",
            "SOORD",
            "LINES",
            ("ITEM", "LOCTID", "QTYORD", "PRICE", "QTYALLOC", "QTYBACK"),
        ),
        ResourceSpec(
            "journalentries",
            "BATCH",
            "REFERENCE",
            "GLTRAN",
            "LINES",
            ("GLACNT", "DEBIT", "CREDIT", "DESCRIPT"),
        ),
        ResourceSpec("paymentnotes", "NOTENO", "REFERENCE", "ARPSTAT"),
        ResourceSpec("items", "ITEM", ""),
    )
}
# ErpPosting.DocumentType -> the resource that holds it, and what tells it apart from its neighbours.
DOCUMENT_RESOURCES = {
    "customer": "customers",
    "sales_order": "orders",
    "receipt": "payments",
    "reversal": "payments",
    "credit_memo": "invoices",
    "invoice": "invoices",
    "journal_entry": "journalentries",
    "status_note": "paymentnotes",
}


class SageProErrors(ErpErrors):
    """One mapping for both transports: locks, throttling, unavailability and pending imports are
    transient; everything else Sage Pro refuses is permanent."""

    transient_codes = TRANSIENT_CODES
    transient_statuses = TRANSIENT_STATUSES


ERRORS = SageProErrors()


def error_for(
    code: str, message: str, *, http_status: int | None = None, raw: Any = None, maybe_applied: bool = False
) -> ErpError:
    return ERRORS.error(message, code=code, http_status=http_status, raw=raw, maybe_applied=maybe_applied)


def error_parts(body: Any, *, http_status: int | None = None) -> ErrorParts:
    """Read the gateway's `{"error": {code, message, field}}` (or its bare inner object)."""
    error = body.get("error", body) if isinstance(body, dict) else {}
    error = error if isinstance(error, dict) else {}
    code = error.get("code") or (f"HTTP_{http_status}" if http_status else "UNKNOWN")
    message = error.get("message") or (str(body)[:300] if body else f"HTTP {http_status} without a body")
    if error.get("field"):
        message = f"{error['field']}: {message}"
    return ErrorParts(code=code, message=message, raw=body)


def error_from_body(body: Any, *, http_status: int | None = None, maybe_applied: bool = False) -> ErpError:
    """Map the gateway's error body to our errors."""
    parts = error_parts(body, http_status=http_status)
    return error_for(
        parts.code, parts.message, http_status=http_status, raw=parts.raw, maybe_applied=maybe_applied
    )


def document_matches(document_type: str, record: dict[str, Any]) -> bool:
    if document_type == "receipt":
        return not record.get("REVERSES")
    if document_type == "reversal":
        return bool(record.get("REVERSES"))
    if document_type == "credit_memo":
        return record.get("DOCTYPE") == "CM"
    if document_type == "invoice":
        return record.get("DOCTYPE") == "IN"
    return True


def document_from_record(document_type: str, record: dict[str, Any]) -> ErpDocument:
    spec = RESOURCES[DOCUMENT_RESOURCES[document_type]]
    return ErpDocument(
        document_type=document_type,
        number=record[spec.key],
        reference=record.get(spec.reference, ""),
        raw=record,
    )


# --- our dataclasses -> records ---------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> str:
    return str(money_quantize(amount, currency))


def _quantity(value: Decimal) -> str:
    return format(value, "f")


def _with_defaults(record: dict[str, Any], defaults: dict[str, str]) -> dict[str, Any]:
    """FieldDefault rows fill the fields we leave blank (BATCH, BANKNO, LOCTID...), never override."""
    return {**record, **{k: v for k, v in defaults.items() if not record.get(k)}}


def customer_record(customer: CustomerData) -> dict[str, Any]:
    return {
        "CUSTNO": customer.number,
        "COMPANY": customer.name,
        "ADDRESS1": customer.address.line1,
        "ADDRESS2": customer.address.line2,
        "CITY": customer.address.city,
        "STATE": customer.address.state,
        "ZIP": customer.address.postal_code,
        "COUNTRY": customer.address.country,
        "PHONE": customer.phone,
        "EMAIL": customer.email,
        "CURRENCY": customer.currency,
        "REFERENCE": customer.reference,
    }


def order_record(order: SalesOrderData) -> dict[str, Any]:
    location = order.defaults.get("LOCTID", "")
    record = {
        "CUSTNO": order.customer_number,
        "ORDDATE": order.order_date.isoformat(),
        "PONUM": order.reference,
        "CURRENCY": order.currency,
        "LINES": [
            {
                "ITEM": line.sku,
                "LOCTID": location,
                "QTYORD": _quantity(line.quantity),
                "PRICE": _money(line.unit_price, order.currency),
            }
            for line in order.lines
        ],
    }
    return _with_defaults(record, order.defaults)


def receipt_record(receipt: ReceiptData) -> dict[str, Any]:
    record = {
        "CUSTNO": receipt.customer_number,
        "CHECKNO": receipt.reference,
        "PAYDATE": receipt.receipt_date.isoformat(),
        "PAYAMT": _money(receipt.amount, receipt.currency),
        "CURRENCY": receipt.currency,
        "PAYCODE": receipt.payment_code,
        "BANKNO": receipt.bank_code,
        "GLACCT": receipt.cash_account,
        "DESCRIPT": receipt.description,
        "APPLS": [
            {"APPLINVNO": a.invoice_number, "APPLAMT": _money(a.amount, receipt.currency)}
            for a in receipt.applications
        ],
    }
    return _with_defaults(record, receipt.defaults)


def reversal_record(reversal: ReversalData, *, rcptno: str) -> dict[str, Any]:
    return {
        "CUSTNO": reversal.customer_number,
        "CHECKNO": reversal.reference,
        "PAYDATE": reversal.document_date.isoformat(),
        "PAYAMT": _money(reversal.amount, reversal.currency),
        "CURRENCY": reversal.currency,
        "REVERSES": rcptno,
        "DESCRIPT": reversal.description or f"Reversal of {reversal.original_reference}",
    }


def invoice_record(invoice: InvoiceData) -> dict[str, Any]:
    """An invoice (DOCTYPE IN) Sage Pro numbers itself; REFERENCE carries ours."""
    record = {
        "DOCTYPE": "IN",
        "CUSTNO": invoice.customer_number,
        "INVDATE": invoice.invoice_date.isoformat(),
        "INVAMT": _money(invoice.amount, invoice.currency),
        "CURRENCY": invoice.currency,
        "GLACCT": invoice.account,
        "REFERENCE": invoice.reference,
        "DESCRIPT": invoice.description or invoice.reference,
    }
    return _with_defaults(record, invoice.defaults)


def memo_record(memo: CreditMemoData) -> dict[str, Any]:
    record = {
        "DOCTYPE": "CM",
        "CUSTNO": memo.customer_number,
        "INVDATE": memo.document_date.isoformat(),
        "INVAMT": _money(memo.amount, memo.currency),
        "CURRENCY": memo.currency,
        "APPLINVNO": memo.invoice_number,
        "GLACCT": memo.account,
        "REFERENCE": memo.reference,
        "DESCRIPT": memo.description or f"Refund of {memo.original_reference}".strip(),
    }
    return _with_defaults(record, memo.defaults)


def status_note_record(note: StatusNoteData) -> dict[str, Any]:
    return {
        "CUSTNO": note.customer_number,
        "INVNO": note.invoice_number,
        "SONO": "" if note.invoice_number else note.order_number,
        "PAYSTATUS": note.erp_status,
        "NOTE": note.note[:254],
        "REFERENCE": note.reference,
        "NOTEDATE": note.note_date.isoformat(),
    }


def journal_record(entry: JournalEntryData) -> dict[str, Any]:
    record = {
        "TRANDATE": entry.entry_date.isoformat(),
        "REFERENCE": entry.reference,
        "DESCRIPT": entry.description,
        "LINES": [
            {
                "GLACNT": line.account,
                "DEBIT": _money(line.debit, entry.currency),
                "CREDIT": _money(line.credit, entry.currency),
                "DESCRIPT": line.description,
            }
            for line in entry.lines
        ],
    }
    return _with_defaults(record, entry.defaults)


# --- records -> our dataclasses ---------------------------------------------------------------------


def _decimal(record: dict[str, Any], name: str) -> Decimal:
    return Decimal(str(record.get(name) or "0"))


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def stamp_parse(value: str) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def customer_from_record(record: dict[str, Any]) -> ErpCustomer:
    return ErpCustomer(
        number=record["CUSTNO"],
        name=record.get("COMPANY", ""),
        email=record.get("EMAIL", ""),
        phone=record.get("PHONE", ""),
        currency=record.get("CURRENCY", ""),
        address=Address(
            line1=record.get("ADDRESS1", ""),
            line2=record.get("ADDRESS2", ""),
            city=record.get("CITY", ""),
            state=record.get("STATE", ""),
            postal_code=record.get("ZIP", ""),
            country=record.get("COUNTRY", ""),
        ),
        updated_at=stamp_parse(record.get("UPDATED", "")),
        raw=record,
    )


def invoice_from_record(record: dict[str, Any]) -> ErpInvoice:
    return ErpInvoice(
        number=record["INVNO"],
        customer_number=record["CUSTNO"],
        currency=record.get("CURRENCY", ""),
        amount=_decimal(record, "INVAMT"),
        balance=_decimal(record, "BALANCE"),
        issued_on=date.fromisoformat(record["INVDATE"]),
        due_on=_date(record.get("DUEDATE", "")),
        reference=record.get("PONUM") or record.get("REFERENCE", ""),
        raw=record,
    )


def stock_from_record(record: dict[str, Any]) -> StockLevel:
    return StockLevel(
        sku=record["ITEM"],
        location=record.get("LOCTID", ""),
        on_hand=_decimal(record, "ONHAND"),
        allocated=_decimal(record, "ALLOC"),
    )


def is_open_invoice(record: dict[str, Any]) -> bool:
    return record.get("DOCTYPE", "IN") == "IN" and _decimal(record, "BALANCE") > 0
