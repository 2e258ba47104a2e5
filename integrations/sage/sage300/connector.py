"""`ErpConnector` for Sage 300 over its Web API (`/Sage300WebApi/v1.0/-/<COMPANY>/<MODULE>/<Resource>`).

Choices, and why:
- Open invoices come from ARPostedDocuments (the AROBL open-item ledger): it is the only resource that
  holds a posted document's current balance; invoice batches only hold what was entered.
- Receipts are batched and posted as `receipts.py` explains; credit notes and reversals (an AD
  adjustment batch crediting the bank's GL account) are posted the same way, one batch each. GL journal
  batches are left ReadyToPost: posting the general ledger is finance's own step.
- Every document carries our reference and is found by it before a retry (`documents.py`).
"""

import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from integrations.sage.connector import ConnectorSettings, ErpConnector, chunked
from integrations.sage.rates import RateQuote
from integrations.sage.sage300 import documents, payloads
from integrations.sage.sage300.client import Sage300Client, entry_path, literal
from integrations.sage.sage300.documents import (
    CUSTOMERS,
    INVOICE_BATCHES,
    JOURNAL_BATCHES,
    ORDERS,
    POST_INVOICES,
    POSTED_DOCUMENTS,
    DocumentType,
    batch_description,
)
from integrations.sage.sage300.rates import DEFAULT_RATE_TYPE, RATES, sage300_rate_quote
from integrations.sage.sage300.receipts import receipt_batch_post, receipt_reverse

# Sage 300's Endpoint Reference lists no resource with stock per item and location (the
# `IC/ICLocationDetails` this connector used to read is in no Sage reference): items come from the
# documented IC/ICItems, which holds no quantities.
ITEMS = "IC/ICItems"
_STOCK_SKUS_PER_CALL = 20  # keeps the $filter (and the URL) short
INVOICE_TYPES = "(DocumentType eq 'Invoice' or DocumentType eq 'DebitNote')"


# The customer optional field a payment's status is written to (Sage 300: AR optional fields setup).
STATUS_FIELD = "PAYSTATUS"


def _status_note_found(customer: dict[str, Any], reference: str) -> dict[str, Any] | None:
    rows = customer.get("CustomerOptionalFieldValues") or []
    return next(
        (
            row
            for row in rows
            if row.get("OptionalField") == STATUS_FIELD
            and str(row.get("Value") or "").split()[:1] == [reference]
        ),
        None,
    )


def changed_after(field: str, since: datetime) -> str:
    """A change stamp that is a date (DateLastMaintained, LastActivityDate): everything after the day
    before, so a change later the same day is never missed. `gt`, because the Developer Reference
    documents eq ne gt lt le and no ge."""
    day = (since.astimezone(UTC).date() - timedelta(days=1)).isoformat()
    return f"{field} gt datetime'{day}T00:00:00'"


def prefix_any_case(field: str, value: str) -> str:
    """Sage 300 compares strings case-sensitively (binary collation) and has no tolower(): match every
    casing of the first two characters, then compare the whole value case-insensitively here."""
    prefix = value[:2]
    variants = sorted(
        {"".join(chars) for chars in itertools.product(*({c.lower(), c.upper()} for c in prefix))}
    )
    return " or ".join(f"startswith({field},{literal(variant)})" for variant in variants)


class Sage300Connector(ErpConnector):
    system = "sage_300"
    rate_table = RATES

    def __init__(self, *, settings: ConnectorSettings):
        options = settings.options
        self.company = str(options.get("company") or "").upper()
        if not self.company:
            raise ValueError(f"{settings.name} has no Sage 300 company in its options")
        transport = settings.http(
            base_url=f"{settings.base_url.rstrip('/')}/-/{self.company}",
            # Sage 300 answers 500 to any request without this header, GETs included.
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            auth=settings.basic_auth,
        )
        super().__init__(settings=settings, transport=transport)
        self.client = Sage300Client(transport)
        self.bank_code = str(options.get("bank_code") or "")
        self.location = str(options.get("location") or "")
        self.customer_group = str(options.get("customer_group") or "")
        self._bank_accounts: dict[str, str] = {}
        self.rate_type = str(options.get("rate_type") or DEFAULT_RATE_TYPE)

    def connection_test(self) -> ConnectionCheck:
        try:
            customers = self.client.count(CUSTOMERS)
        except ErpError as error:
            return ConnectionCheck(ok=False, message=f"Sage 300 company {self.company}: {error}", error=error)
        return ConnectionCheck(
            ok=True, message=f"Signed on to Sage 300 company {self.company} ({customers} customers)."
        )

    # Customers

    def customer_get(self, *, number: str) -> ErpCustomer | None:
        record = self.client.get_entry(entry_path(CUSTOMERS, number))
        return payloads.customer_from(record) if record else None

    def customer_upsert(self, *, customer: CustomerData) -> ErpCustomer:
        number = customer.number or payloads.customer_number_for(customer)
        path = entry_path(CUSTOMERS, number)
        body = payloads.customer_body(customer, number=number, group=self.customer_group)
        existing = self.client.get_entry(path)
        if existing is None:
            try:
                return payloads.customer_from(self.client.post(CUSTOMERS, body))
            except ErpPermanentError as error:
                if error.code != "RecordDuplicate":
                    raise
                existing = self.client.get(path)  # entered meanwhile, e.g. by our own timed-out attempt
        # Partial update of what differs; the key, short name, group and currency of an existing customer
        # stay, and a blank on our side never wipes what finance typed into Sage.
        fixed = {"CustomerNumber", "ShortName", "GroupCode", "CurrencyCode"}
        changes = {
            name: value
            for name, value in body.items()
            if name not in fixed and value and value != (existing.get(name) or "")
        }
        if changes:
            self.client.patch(path, changes)
        return payloads.customer_from({**existing, **changes})

    def _customers_matching(self, field: str, value: str) -> list[ErpCustomer]:
        wanted = value.strip().casefold()
        if not wanted:
            return []
        records = self.client.feed(CUSTOMERS, query=prefix_any_case(field, value.strip()))
        return [
            payloads.customer_from(record)
            for record in records
            if str(record.get(field) or "").strip().casefold() == wanted
        ]

    def customer_find_by_email(self, *, email: str) -> list[ErpCustomer]:
        return self._customers_matching("Email", email)

    def customer_find_by_name(self, *, name: str) -> list[ErpCustomer]:
        return self._customers_matching("CustomerName", name)

    def customers_changed(self, *, since: datetime | None) -> Iterator[ErpCustomer]:
        query = changed_after("DateLastMaintained", since) if since else None
        for record in self.client.feed(CUSTOMERS, query=query):
            yield payloads.customer_from(record)

    # Invoices

    def invoices_open(self, *, customer_number: str) -> list[ErpInvoice]:
        query = (
            f"CustomerNumber eq {literal(customer_number)} and "
            f"{INVOICE_TYPES} and CustomerCurrencyAmountDue gt 0"
        )
        invoices = [
            payloads.invoice_from(record) for record in self.client.feed(POSTED_DOCUMENTS, query=query)
        ]
        return sorted(invoices, key=lambda invoice: (invoice.issued_on, invoice.number))

    def invoice_get(self, *, number: str) -> ErpInvoice | None:
        query = f"DocumentNumber eq {literal(number)} and DocumentType eq 'Invoice'"
        record = next(self.client.feed(POSTED_DOCUMENTS, query=query, top=1), None)
        return payloads.invoice_from(record) if record else None

    def invoices_changed(self, *, since: datetime | None) -> Iterator[ErpInvoice]:
        # PostedDocument's LastActivityDate (AR $metadata) moves when a document is posted, paid, credited
        # or adjusted: the open-item ledger's own change stamp.
        query = INVOICE_TYPES + (f" and {changed_after('LastActivityDate', since)}" if since else "")
        for record in self.client.feed(POSTED_DOCUMENTS, query=query):
            yield payloads.invoice_from(record)

    # Documents

    def sales_order_create(self, *, order: SalesOrderData) -> ErpDocument:
        location = order.defaults.get("Location") or self.location
        record = self.client.post(ORDERS, payloads.sales_order_body(order, location=location))
        return ErpDocument(DocumentType.SALES_ORDER, record["OrderNumber"], order.reference, raw=record)

    def currency_rate(self, *, from_currency: str, to_currency: str, on: date) -> RateQuote | None:
        return sage300_rate_quote(
            self.client,
            from_currency=from_currency,
            to_currency=to_currency,
            on=on,
            rate_type=self.rate_type,
            company=self.company,
        )

    def receipt_batches(self, *, receipts: list[ReceiptData]) -> list[list[int]]:
        """A CA batch has one bank: receipts are grouped by bank, then `receipt_batch_size` at a time."""
        by_bank: dict[str, list[int]] = defaultdict(list)
        for index, receipt in enumerate(receipts):
            by_bank[receipt.bank_code or self.bank_code].append(index)
        size = self.receipt_batch_size
        return [batch for indexes in by_bank.values() for batch in chunked(items=indexes, size=size)]

    def receipt_batch_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        bank_code = receipts[0].bank_code or self.bank_code  # one bank per batch: `receipt_batches`
        return receipt_batch_post(self.client, receipts=receipts, bank_code=bank_code)

    def receipt_reverse(self, *, reversal: ReversalData) -> ErpDocument:
        return receipt_reverse(self.client, reversal=reversal, bank_account=self._bank_account)

    def _bank_account(self, bank_code: str) -> str:
        """The bank's GL account (BKBanks.BankAccount), read once per connector."""
        if bank_code not in self._bank_accounts:
            self._bank_accounts[bank_code] = self.client.get(entry_path("BK/BKBanks", bank_code))[
                "BankAccount"
            ]
        return self._bank_accounts[bank_code]

    def credit_memo_post(self, *, memo: CreditMemoData) -> ErpDocument:
        if len(memo.reference) > payloads.DOCUMENT_NUMBER_LENGTH:
            raise ErpPermanentError(f"Reference {memo.reference} is too long for a Sage 300 document number.")
        body = payloads.credit_note_batch_body(
            memo, description=batch_description("credit note", memo.reference)
        )
        batch = documents.batch_enter_and_post(self.client, INVOICE_BATCHES, body, POST_INVOICES)
        return documents.credit_memo_document(batch, memo.reference)

    def invoice_create(self, *, invoice: InvoiceData) -> ErpDocument:
        if len(invoice.reference) > payloads.DOCUMENT_NUMBER_LENGTH:
            raise ErpPermanentError(
                f"Reference {invoice.reference} is too long for a Sage 300 document number."
            )
        body = payloads.invoice_batch_body(
            invoice, description=batch_description("invoice", invoice.reference)
        )
        batch = documents.batch_enter_and_post(self.client, INVOICE_BATCHES, body, POST_INVOICES)
        return documents.invoice_document(batch, invoice.reference)

    def journal_entry_post(self, *, entry: JournalEntryData) -> ErpDocument:
        body = payloads.journal_batch_body(entry, description=batch_description("journal", entry.reference))
        return documents.journal_document(self.client.post(JOURNAL_BATCHES, body), entry.reference)

    def status_note_write(self, *, note: StatusNoteData) -> ErpDocument:
        """Posted AR documents take no edits through the Web API, so the note is the customer's optional
        field PAYSTATUS (ARCustomers' CustomerOptionalFieldValues, metadata type
        CustomerOptionalFieldValue: OptionalField, Value): "<our reference> <status> <invoice / order>".
        It is read first, so a retry after a lost answer writes nothing twice."""
        path = entry_path(CUSTOMERS, note.customer_number)
        value = " ".join(
            filter(None, (note.reference, note.erp_status, note.invoice_number or note.order_number))
        )
        found = _status_note_found(self.client.get(path), note.reference)
        if found is None:
            row = {"CustomerNumber": note.customer_number, "OptionalField": STATUS_FIELD, "Value": value[:60]}
            self.client.patch(path, {"CustomerOptionalFieldValues": [row]})
        return ErpDocument("status_note", f"{note.customer_number}/{STATUS_FIELD}", note.reference)

    def document_find(self, *, document_type: str, reference: str) -> ErpDocument | None:
        if document_type == "status_note":
            return None  # found by `status_note_write` itself, on the customer it names
        return documents.document_find(self.client, document_type=document_type, reference=reference)

    # Inventory

    def stock_levels(self, *, skus: list[str]) -> list[StockLevel]:
        """Which of `skus` Sage knows, at the connection's location. The Web API publishes no stock
        quantities (see ITEMS), so on_hand and allocated read 0: callers may rely on an item's presence
        only, as the storefront's SKU check does. Sage itself refuses or backorders an order it cannot
        fill."""
        levels = []
        for start in range(0, len(skus), _STOCK_SKUS_PER_CALL):
            query = " or ".join(
                f"ItemNumber eq {literal(sku)}" for sku in skus[start : start + _STOCK_SKUS_PER_CALL]
            )
            levels += [
                StockLevel(
                    sku=record["ItemNumber"], location=self.location, on_hand=Decimal(0), allocated=Decimal(0)
                )
                for record in self.client.feed(ITEMS, query=query)
            ]
        return levels
