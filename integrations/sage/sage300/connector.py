"""`ErpConnector` for Sage 300 over its Web API (`/Sage300WebApi/v1.0/-/<COMPANY>/<MODULE>/<Resource>`).

Choices, and why:
- Open invoices come from ARPostedDocuments (the AROBL open-item ledger): it is the only resource that
  holds a posted document's current balance; invoice batches only hold what was entered.
- Receipts go in as one CA batch per `receipt_batch_size` receipts, marked `BatchStatus: ReadyToPost`,
  then that batch alone is posted with `ARPostReceiptsAndAdjustments('$process')`. ReadyToPost only
  flags a batch; balances move when it is posted, and finance expects a paid invoice to show as paid.
  Two calls per batch keep the ERP calls per payment far under the 1.1 target.
- Credit notes and reversals (an AD adjustment batch crediting the bank's GL account) are posted the
  same way. GL journal batches are left ReadyToPost: posting the general ledger is finance's own step.
- The Web API has no idempotency key. Every document carries our reference where Sage keeps it
  (CheckReceiptNumber + EntryReference, OrderReference, the credit note's DocumentNumber, the batch
  Description) and `document_find` looks it up before a retry. A batch entered whose posting did not
  answer is found there too, and its posting is finished, so nothing is entered twice or left unposted.
"""

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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
    ErpPermanentError,
    ErpTransientError,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    StockLevel,
)
from integrations.sage.sage300 import payloads
from integrations.sage.sage300.client import Record, Sage300Client, entry_path, literal

DocumentType = ErpPosting.DocumentType
CUSTOMERS = "AR/ARCustomers"
POSTED_DOCUMENTS = "AR/ARPostedDocuments"
POSTED_RECEIPTS = "AR/ARPostedReceipts"
INVOICE_BATCHES = "AR/ARInvoiceBatches"
RECEIPT_BATCHES = "AR/ARReceiptAndAdjustmentBatches"
POST_INVOICES = "AR/ARPostInvoices('$process')"
POST_RECEIPTS = "AR/ARPostReceiptsAndAdjustments('$process')"
ORDERS = "OE/OEOrders"
JOURNAL_BATCHES = "GL/GLJournalBatches"
STOCK = "IC/ICLocationDetails"
_RECEIPT_NUMBER = re.compile(r"^CA(\d+)-(\d+)$")
_STOCK_SKUS_PER_CALL = 20  # keeps the $filter (and the URL) short


def prefix_any_case(field: str, value: str) -> str:
    """Sage 300 compares strings case-sensitively (binary collation) and has no tolower(): match every
    casing of the first two characters, then compare the whole value case-insensitively here."""
    prefix = value[:2]
    variants = sorted(
        {"".join(chars) for chars in itertools.product(*({c.lower(), c.upper()} for c in prefix))}
    )
    return " or ".join(f"startswith({field},{literal(variant)})" for variant in variants)


def receipt_blamed(message: str, receipts: list[ReceiptData]) -> int | None:
    """The position of the one receipt an error names (by reference, else by an invoice it applies to,
    else by customer), or None when the message does not single one out."""

    def mentions(token: str) -> bool:
        return bool(token) and re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", message) is not None

    for tokens in (
        lambda receipt: [receipt.reference],
        lambda receipt: [application.invoice_number for application in receipt.applications],
        lambda receipt: [receipt.customer_number],
    ):
        hits = [
            index
            for index, receipt in enumerate(receipts)
            if any(mentions(token) for token in tokens(receipt))
        ]
        if len(hits) == 1:
            return hits[0]
    return None


class Sage300Connector:
    system = "sage_300"

    def __init__(
        self,
        *,
        client: Sage300Client,
        company: str,
        receipt_batch_size: int = 20,
        bank_code: str = "",
        location: str = "",
        customer_group: str = "",
    ):
        self.client = client
        self.company = company
        self.receipt_batch_size = max(1, receipt_batch_size)
        self.bank_code = bank_code
        self.location = location
        self.customer_group = customer_group
        self._bank_accounts: dict[str, str] = {}

    @classmethod
    def from_connection(cls, connection: Connection) -> "Sage300Connector":
        options = connection.options or {}
        credentials = connection.credentials or {}
        company = str(options.get("company") or "").upper()
        if not company:
            raise ValueError(f"{connection} has no Sage 300 company in its options")
        transport = HttpTransport(
            base_url=f"{connection.base_url.rstrip('/')}/-/{company}",
            timeout=float(options.get("timeout") or DEFAULT_TIMEOUT_SECONDS),
            # Sage 300 answers 500 to any request without this header, GETs included.
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            auth=(credentials.get("username", ""), credentials.get("password", "")),
        )
        return cls(
            client=Sage300Client(transport),
            company=company,
            receipt_batch_size=int(options.get("receipt_batch_size") or 20),
            bank_code=str(options.get("bank_code") or ""),
            location=str(options.get("location") or ""),
            customer_group=str(options.get("customer_group") or ""),
        )

    def connection_test(self) -> ConnectionCheck:
        try:
            customers = self.client.count(CUSTOMERS)
        except ErpError as error:
            return ConnectionCheck(ok=False, message=f"Sage 300 company {self.company}: {error}")
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
        # DateLastMaintained is a date: ask from the start of that day, so a change later the same day is
        # never missed; seeing a customer twice is harmless to an upsert.
        day = since.astimezone(UTC).date().isoformat() if since else None
        query = f"DateLastMaintained ge datetime'{day}T00:00:00'" if day else None
        for record in self.client.feed(CUSTOMERS, query=query):
            yield payloads.customer_from(record)

    # Invoices

    def invoices_open(self, *, customer_number: str) -> list[ErpInvoice]:
        query = (
            f"CustomerNumber eq {literal(customer_number)} and "
            "(DocumentType eq 'Invoice' or DocumentType eq 'DebitNote') and "
            "CurrentBalanceInCustomerCurrency gt 0"
        )
        invoices = [
            payloads.invoice_from(record) for record in self.client.feed(POSTED_DOCUMENTS, query=query)
        ]
        return sorted(invoices, key=lambda invoice: (invoice.issued_on, invoice.number))

    def invoice_get(self, *, number: str) -> ErpInvoice | None:
        query = f"DocumentNumber eq {literal(number)} and DocumentType eq 'Invoice'"
        record = next(self.client.feed(POSTED_DOCUMENTS, query=query, top=1), None)
        return payloads.invoice_from(record) if record else None

    # Documents

    def sales_order_create(self, *, order: SalesOrderData) -> ErpDocument:
        location = order.defaults.get("Location") or self.location
        record = self.client.post(ORDERS, payloads.sales_order_body(order, location=location))
        return ErpDocument(DocumentType.SALES_ORDER, record["OrderNumber"], order.reference, raw=record)

    def _batch_post(self, process: str, batch: Record, *, batch_type: str = "") -> None:
        """Post one batch: a range from it to itself, never every batch that happens to be ready."""
        body: Record = {"BatchType": batch_type} if batch_type else {}
        # PostAllBatches' range value is not in the reference [U]; the range bounds are.
        body.update(
            PostAllBatches="Postrangeofbatches",
            PostBatchFrom=batch["BatchNumber"],
            PostBatchTo=batch["BatchNumber"],
        )
        self.client.post(process, body)

    def _batch_enter_and_post(self, path: str, body: Record, process: str, *, batch_type: str = "") -> Record:
        batch = self.client.post(path, body)
        try:
            self._batch_post(process, batch, batch_type=batch_type)
        except ErpError as error:
            # The batch is in Sage, ready to post: the retry's document_find finds it and posts it.
            raise ErpTransientError(
                f"batch {batch['BatchNumber']} was entered but not posted: {error.message}",
                maybe_applied=True,
                code=error.code,
                http_status=error.http_status,
            ) from error
        return batch

    @staticmethod
    def _receipt_document(batch_number: Any, entry: Record) -> ErpDocument:
        number = f"CA{batch_number}-{entry['EntryNumber']}"
        return ErpDocument(DocumentType.RECEIPT, number, entry["CheckReceiptNumber"], raw=entry)

    def receipts_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        by_bank: dict[str, list[int]] = defaultdict(list)
        for index, receipt in enumerate(receipts):
            by_bank[receipt.bank_code or self.bank_code].append(index)
        results: dict[int, BatchItemResult] = {}
        for bank_code, indexes in by_bank.items():
            for start in range(0, len(indexes), self.receipt_batch_size):
                chunk = [
                    (index, receipts[index]) for index in indexes[start : start + self.receipt_batch_size]
                ]
                results.update(self._receipts_batch(chunk, bank_code=bank_code))
        return [results[index] for index in range(len(receipts))]

    def _receipts_batch(
        self, chunk: list[tuple[int, ReceiptData]], *, bank_code: str
    ) -> dict[int, BatchItemResult]:
        receipts = [receipt for _, receipt in chunk]
        if not bank_code:
            error = ErpPermanentError("No Sage 300 bank code: set the connection's bank_code option.")
            return {index: BatchItemResult(receipt.reference, error=error) for index, receipt in chunk}
        try:
            batch = self._batch_enter_and_post(
                RECEIPT_BATCHES,
                payloads.receipt_batch_body(receipts, bank_code=bank_code),
                POST_RECEIPTS,
                batch_type="CA",
            )
        except ErpTransientError as error:
            return {index: BatchItemResult(receipt.reference, error=error) for index, receipt in chunk}
        except ErpPermanentError as error:
            return self._receipts_refused(chunk, error, bank_code=bank_code)
        entries = batch["ReceiptsAdjustments"]
        return {
            index: BatchItemResult(
                receipt.reference, document=self._receipt_document(batch["BatchNumber"], entry)
            )
            for (index, receipt), entry in zip(chunk, entries, strict=True)
        }

    def _receipts_refused(
        self, chunk: list[tuple[int, ReceiptData]], error: ErpPermanentError, *, bank_code: str
    ) -> dict[int, BatchItemResult]:
        """Sage refuses a whole batch for one bad entry. When the error names the entry, it alone fails
        and the rest go again as one batch; when it does not, the entries go one by one so the good
        receipts still get through (more round trips, only on this rare path)."""
        if len(chunk) == 1:
            return {chunk[0][0]: BatchItemResult(chunk[0][1].reference, error=error)}
        blamed = receipt_blamed(error.message, [receipt for _, receipt in chunk])
        if blamed is None:
            results: dict[int, BatchItemResult] = {}
            for item in chunk:
                results.update(self._receipts_batch([item], bank_code=bank_code))
            return results
        index, receipt = chunk[blamed]
        results = {index: BatchItemResult(receipt.reference, error=error)}
        results.update(self._receipts_batch(chunk[:blamed] + chunk[blamed + 1 :], bank_code=bank_code))
        return results

    def _receipt_entry(self, *, batch_number: Any, entry_number: Any) -> tuple[Record, Record] | None:
        batch = self.client.get_entry(
            f"{RECEIPT_BATCHES}(BatchRecordType='CA',BatchNumber={int(batch_number)})"
        )
        entries = (batch or {}).get("ReceiptsAdjustments") or []
        entry = next((e for e in entries if str(e.get("EntryNumber")) == str(entry_number)), None)
        return (batch, entry) if batch and entry else None

    def _bank_account(self, bank_code: str) -> str:
        if bank_code not in self._bank_accounts:
            bank = self.client.get(entry_path("BK/BKBanks", bank_code))
            self._bank_accounts[bank_code] = bank["BankAccount"]
        return self._bank_accounts[bank_code]

    def receipt_reverse(self, *, reversal: ReversalData) -> ErpDocument:
        match = _RECEIPT_NUMBER.match(reversal.original_document_number)
        if match is None:
            found = self._receipt_find(reversal.original_reference)
            match = _RECEIPT_NUMBER.match(found.number) if found else None
        located = self._receipt_entry(batch_number=match[1], entry_number=match[2]) if match else None
        if located is None:
            raise ErpPermanentError(
                f"Receipt {reversal.original_reference} is not in Sage 300.", code="RecordNotFound"
            )
        batch, entry = located
        try:
            lines = payloads.reversal_lines(entry, amount=reversal.amount)
        except ValueError as error:
            raise ErpPermanentError(f"Cannot reverse: {error}.", code="RecordInvalid") from error
        body = payloads.reversal_batch_body(
            reversal,
            lines=lines,
            bank_account=self._bank_account(batch["BankCode"]),
            description=self._description("reversal", reversal.reference),
        )
        created = self._batch_enter_and_post(RECEIPT_BATCHES, body, POST_RECEIPTS, batch_type="AD")
        return self._reversal_document(created, reversal.reference)

    @staticmethod
    def _reversal_document(batch: Record, reference: str) -> ErpDocument:
        entry = batch["ReceiptsAdjustments"][0]
        return ErpDocument(DocumentType.REVERSAL, entry["DocumentNumber"], reference, raw=batch)

    @staticmethod
    def _credit_memo_document(batch: Record, reference: str) -> ErpDocument:
        return ErpDocument(
            DocumentType.CREDIT_MEMO, batch["Invoices"][0]["DocumentNumber"], reference, raw=batch
        )

    @staticmethod
    def _journal_document(batch: Record, reference: str) -> ErpDocument:
        return ErpDocument(DocumentType.JOURNAL_ENTRY, str(batch["BatchNumber"]), reference, raw=batch)

    @staticmethod
    def _description(kind: str, reference: str) -> str:
        return f"Paysage {kind} {reference}"[: payloads.DESCRIPTION_LENGTH]

    def credit_memo_post(self, *, memo: CreditMemoData) -> ErpDocument:
        if len(memo.reference) > payloads.DOCUMENT_NUMBER_LENGTH:
            raise ErpPermanentError(f"Reference {memo.reference} is too long for a Sage 300 document number.")
        body = payloads.credit_note_batch_body(
            memo, description=self._description("credit note", memo.reference)
        )
        batch = self._batch_enter_and_post(INVOICE_BATCHES, body, POST_INVOICES)
        return self._credit_memo_document(batch, memo.reference)

    def journal_entry_post(self, *, entry: JournalEntryData) -> ErpDocument:
        body = payloads.journal_batch_body(entry, description=self._description("journal", entry.reference))
        return self._journal_document(self.client.post(JOURNAL_BATCHES, body), entry.reference)

    # Lookups by our reference

    def document_find(self, *, document_type: str, reference: str) -> ErpDocument | None:
        finders = {
            DocumentType.CUSTOMER: self._customer_find,
            DocumentType.SALES_ORDER: self._sales_order_find,
            DocumentType.RECEIPT: self._receipt_find,
            DocumentType.CREDIT_MEMO: self._credit_memo_find,
            DocumentType.REVERSAL: self._reversal_find,
            DocumentType.JOURNAL_ENTRY: self._journal_find,
        }
        if document_type not in finders:
            raise ValueError(f"Sage 300 cannot look up a {document_type!r}")
        return finders[document_type](reference)

    def _first(self, resource: str, query: str) -> Record | None:
        return next(self.client.feed(resource, query=query, top=1), None)

    def _customer_find(self, reference: str) -> ErpDocument | None:
        customer = self.customer_get(number=payloads.customer_number_from_reference(reference))
        return (
            ErpDocument(DocumentType.CUSTOMER, customer.number, reference, raw=customer.raw)
            if customer
            else None
        )

    def _sales_order_find(self, reference: str) -> ErpDocument | None:
        record = self._first(ORDERS, f"OrderReference eq {literal(reference)}")
        return (
            ErpDocument(DocumentType.SALES_ORDER, record["OrderNumber"], reference, raw=record)
            if record
            else None
        )

    def _posting_finish(self, batch: Record, process: str, *, batch_type: str = "") -> None:
        """A batch of ours found entered but not posted: the post that should have followed failed."""
        if batch.get("BatchStatus") == "ReadyToPost":
            self._batch_post(process, batch, batch_type=batch_type)

    def _receipt_find(self, reference: str) -> ErpDocument | None:
        posted = self._first(POSTED_RECEIPTS, f"CheckReceiptNumber eq {literal(reference)}")
        if posted:
            return self._receipt_document(posted["BatchNumber"], posted)
        unposted = self.client.feed(
            RECEIPT_BATCHES, query="BatchRecordType eq 'CA' and BatchStatus ne 'Posted'"
        )
        for batch in unposted:
            for entry in batch.get("ReceiptsAdjustments") or []:
                if entry.get("CheckReceiptNumber") == reference:
                    self._posting_finish(batch, POST_RECEIPTS, batch_type="CA")
                    return self._receipt_document(batch["BatchNumber"], entry)
        return None

    def _credit_memo_find(self, reference: str) -> ErpDocument | None:
        posted = self._first(
            POSTED_DOCUMENTS, f"DocumentNumber eq {literal(reference)} and DocumentType eq 'CreditNote'"
        )
        if posted:
            return ErpDocument(DocumentType.CREDIT_MEMO, posted["DocumentNumber"], reference, raw=posted)
        batch = self._first(
            INVOICE_BATCHES, f"Description eq {literal(self._description('credit note', reference))}"
        )
        if batch is None:
            return None
        self._posting_finish(batch, POST_INVOICES)
        return self._credit_memo_document(batch, reference)

    def _reversal_find(self, reference: str) -> ErpDocument | None:
        description = self._description("reversal", reference)
        batch = self._first(
            RECEIPT_BATCHES, f"BatchRecordType eq 'AD' and Description eq {literal(description)}"
        )
        if batch is None:
            return None
        self._posting_finish(batch, POST_RECEIPTS, batch_type="AD")
        return self._reversal_document(batch, reference)

    def _journal_find(self, reference: str) -> ErpDocument | None:
        batch = self._first(
            JOURNAL_BATCHES, f"Description eq {literal(self._description('journal', reference))}"
        )
        return self._journal_document(batch, reference) if batch else None

    # Inventory

    def stock_levels(self, *, skus: list[str]) -> list[StockLevel]:
        levels = []
        for start in range(0, len(skus), _STOCK_SKUS_PER_CALL):
            query = " or ".join(
                f"ItemNumber eq {literal(sku)}" for sku in skus[start : start + _STOCK_SKUS_PER_CALL]
            )
            levels += [
                StockLevel(
                    sku=record["ItemNumber"],
                    location=record["Location"],
                    on_hand=Decimal(record["QuantityOnHand"]),
                    allocated=Decimal(record["QuantityCommitted"]),
                )
                for record in self.client.feed(STOCK, query=query)
            ]
        return levels

    def transcript_take(self) -> list[dict[str, Any]]:
        return self.client.transport.transcript_take()
