"""`ErpConnector` for Sage X3: writes through classic SOAP (`save` on BPC/SOH, `run` of AOWSIMPORT
with the PAY and GACC import templates), reads through the api1 REST API and SOAP `query`/`read`."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from integrations.sage.base import (
    Address,
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
    InvoiceData,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    StatusNoteData,
    StockLevel,
)
from integrations.sage.connector import ConnectorSettings, ErpConnector
from integrations.sage.x3.adxml import AdxObject, Fields, adx_build
from integrations.sage.x3.client import X3Client, where_literal
from integrations.sage.x3.importfile import (
    Document,
    import_date,
    import_file_build,
    import_line,
    import_log_parse,
)
from integrations.sage.x3.soap import AdxMessage, AdxResult, CallContext

# Document types as ErpPosting.DocumentType spells them.
CUSTOMER, SALES_ORDER, RECEIPT, REVERSAL = "customer", "sales_order", "receipt", "reversal"
CREDIT_MEMO, JOURNAL_ENTRY, INVOICE = "credit_memo", "journal_entry", "invoice"
STATUS_NOTE = "status_note"


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0")


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _updated_after(since: datetime | None) -> str:
    """An api1 `where` on the UPDDATTIM audit stamp (none: everything)."""
    return f"UPDDATTIM gt @{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}@" if since else ""


def _amount(value: Decimal) -> str:
    return format(value, "f")


@dataclass(frozen=True)
class X3Options:
    """What a Connection's `options` may tune, with the defaults of a standard X3 set-up."""

    language: str = "ENG"
    page_size: int = 20  # api1 `count`
    site: str = ""  # SALFCY when the order's defaults do not say
    order_type: str = "SON"
    customer_category: str = ""
    customer_public_name: str = "BPC"
    order_public_name: str = "SOH"
    invoice_public_name: str = "SIH"
    import_public_name: str = "AOWSIMPORT"
    payment_public_name: str = "PAY"
    journal_public_name: str = "GAS"
    journal_type: str = "ODT"
    receivable_account: str = "411000"
    refund_account: str = "709000"

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> "X3Options":
        """Keys that are not X3's own options (folder, pool_alias, the timeout and batch size every ERP
        takes, other systems' settings) are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in options.items() if key in names})


class X3Connector(ErpConnector):
    system = "sage_x3"
    status_note_targets = frozenset({"invoice"})

    def __init__(self, *, settings: ConnectorSettings):
        self.options = X3Options.from_dict(settings.options)
        transport = settings.http(auth=settings.basic_auth)
        super().__init__(settings=settings, transport=transport)
        folder = settings.options["folder"]
        context = CallContext(
            code_lang=self.options.language, pool_alias=settings.options.get("pool_alias", folder)
        )
        self.client = X3Client(transport=transport, folder=folder, context=context)

    # --- mapping ------------------------------------------------------------------------------
    @staticmethod
    def _customer_from_resource(resource: dict[str, Any]) -> ErpCustomer:
        updated = resource.get("UPDDATTIM")
        return ErpCustomer(
            number=resource.get("BPCNUM", ""),
            name=resource.get("BPCNAM", ""),
            email=resource.get("WEB1", ""),
            phone=resource.get("TEL1", ""),
            currency=resource.get("CUR", ""),
            address=Address(
                line1=resource.get("ADDLIG1", ""),
                line2=resource.get("ADDLIG2", ""),
                city=resource.get("CTY", ""),
                state=resource.get("SAT", ""),
                postal_code=resource.get("POSCOD", ""),
                country=resource.get("CRY", ""),
            ),
            updated_at=datetime.fromisoformat(updated).astimezone(UTC) if updated else None,
            raw=resource,
        )

    @staticmethod
    def _customer_from_result(obj: AdxObject) -> ErpCustomer:
        addresses = obj.tables.get("BPAC_1") or [{}]
        address = next((a for a in addresses if a.get("BPAADDFLG") == "2"), addresses[0])
        lines = address.get("BPAADDLIG") or []
        lines = lines if isinstance(lines, list) else [lines]
        flat = obj.all_fields()
        return ErpCustomer(
            number=obj.value("BPC0_1", "BPCNUM"),
            name=obj.value("BPRC_1", "BPRNAM"),
            email=str(address.get("WEB1", "")),
            phone=str(address.get("TEL1", "")),
            currency=str(flat.get("CUR", "")),
            address=Address(
                line1=lines[0] if lines else "",
                line2=lines[1] if len(lines) > 1 else "",
                city=str(address.get("CTY", "")),
                state=str(address.get("SAT", "")),
                postal_code=str(address.get("POSCOD", "")),
                country=str(address.get("BPACRY", "")),
            ),
            raw={"groups": obj.groups, "tables": obj.tables},
        )

    @staticmethod
    def _invoice_from_resource(resource: dict[str, Any]) -> ErpInvoice:
        return ErpInvoice(
            number=resource["NUM"],
            customer_number=resource.get("BPCINV", ""),
            currency=resource.get("CUR", ""),
            amount=_decimal(resource.get("AMTATI")),
            balance=_decimal(resource.get("OPNCUR")),
            issued_on=_date(resource.get("INVDAT")) or date.min,
            due_on=_date(resource.get("DUDDAT")),
            reference=resource.get("INVREF", ""),
            raw=resource,
        )

    @staticmethod
    def _messages_raw(messages: list[AdxMessage]) -> list[dict[str, Any]]:
        return [{"type": m.type, "message": m.message} for m in messages]

    # --- reads --------------------------------------------------------------------------------
    def connection_test(self) -> ConnectionCheck:
        """Both surfaces: api1 (REST reads) and the SOAP pool (writes)."""
        try:
            next(iter(self.client.feed("BPCUSTOMER", count=1)), None)
            self.client.soap_ok(
                "query", {"publicName": self.options.customer_public_name, "objectKeys": [], "listSize": 1}
            )
        except ErpError as exc:
            return ConnectionCheck(ok=False, message=str(exc), error=exc)
        return ConnectionCheck(ok=True, message=f"api1 and SOAP pool {self.client.context.pool_alias} answer")

    def customer_get(self, *, number: str) -> ErpCustomer | None:
        resource = self.client.details("BPCUSTOMER", number)
        return self._customer_from_resource(resource) if resource else None

    def _customers_where(self, where: str, order_by: str = "BPCNUM asc") -> Iterator[ErpCustomer]:
        for resource in self.client.feed(
            "BPCUSTOMER", where=where, order_by=order_by, count=self.options.page_size
        ):
            yield self._customer_from_resource(resource)

    def customer_find_by_email(self, *, email: str) -> list[ErpCustomer]:
        return list(self._customers_where(f"WEB1 eq {where_literal(email)}"))

    def customer_find_by_name(self, *, name: str) -> list[ErpCustomer]:
        return list(self._customers_where(f"BPCNAM eq {where_literal(name)}"))

    def customers_changed(self, *, since: datetime | None) -> Iterator[ErpCustomer]:
        return self._customers_where(_updated_after(since), order_by="UPDDATTIM asc,BPCNUM asc")

    def invoices_open(self, *, customer_number: str) -> list[ErpInvoice]:
        where = f"BPCINV eq {where_literal(customer_number)} and OPNCUR gt 0"
        feed = self.client.feed(
            "SINVOICE", where=where, order_by="INVDAT asc,NUM asc", count=self.options.page_size
        )
        return [self._invoice_from_resource(resource) for resource in feed]

    def invoice_get(self, *, number: str) -> ErpInvoice | None:
        resource = self.client.details("SINVOICE", number)
        return self._invoice_from_resource(resource) if resource else None

    def invoices_changed(self, *, since: datetime | None) -> Iterator[ErpInvoice]:
        """SINVOICE by its UPDDATTIM audit stamp: a payment matched to the invoice's open item
        (GACCDUDATE) or a credit note against it moves the stamp with the open amount (OPNCUR)."""
        feed = self.client.feed(
            "SINVOICE",
            where=_updated_after(since),
            order_by="UPDDATTIM asc,NUM asc",
            count=self.options.page_size,
        )
        return (self._invoice_from_resource(resource) for resource in feed)

    def stock_levels(self, *, skus: list[str]) -> list[StockLevel]:
        if not skus:
            return []
        where = " or ".join(f"ITMREF eq {where_literal(sku)}" for sku in skus)
        feed = self.client.feed(
            "STOCK", where=where, order_by="ITMREF asc,STOFCY asc", count=self.options.page_size
        )
        return [
            StockLevel(
                sku=row["ITMREF"],
                location=row.get("STOFCY", ""),
                on_hand=_decimal(row.get("QTYSTU")),
                allocated=_decimal(row.get("CUMALLQTY")),
            )
            for row in feed
        ]

    def _soap_query_first(self, public_name: str, keys: list[tuple[str, str]]) -> Fields | None:
        result = self.client.soap_ok("query", {"publicName": public_name, "objectKeys": keys, "listSize": 10})
        lines = next(iter(result.obj().tables.values()), [])
        return lines[0] if lines else None

    def document_find(self, *, document_type: str, reference: str) -> ErpDocument | None:
        """Look a document up by OUR reference, whether or not we ever saw X3's answer."""
        if document_type == CUSTOMER:
            found = self.customer_get(number=reference)
            return ErpDocument(CUSTOMER, found.number, reference, raw=found.raw) if found else None
        if document_type == SALES_ORDER:
            where = f"CUSORDREF eq {where_literal(reference)}"
            order = next(iter(self.client.feed("SORDER", where=where, count=1)), None)
            return ErpDocument(SALES_ORDER, order["SOHNUM"], reference, raw=order) if order else None
        if document_type == STATUS_NOTE:
            return None  # found by `status_note_write` itself, on the invoice it names
        if document_type == INVOICE:
            where = f"INVREF eq {where_literal(reference)}"
            invoice = next(iter(self.client.feed("SINVOICE", where=where, count=1)), None)
            return ErpDocument(INVOICE, invoice["NUM"], reference, raw=invoice) if invoice else None
        public_names = {
            RECEIPT: self.options.payment_public_name,
            REVERSAL: self.options.payment_public_name,
            CREDIT_MEMO: self.options.journal_public_name,
            JOURNAL_ENTRY: self.options.journal_public_name,
        }
        if document_type not in public_names:
            raise ValueError(f"unknown document type {document_type!r}")
        line = self._soap_query_first(public_names[document_type], [("REF", reference)])
        return ErpDocument(document_type, str(line["NUM"]), reference, raw=dict(line)) if line else None

    # --- SOAP object writes -------------------------------------------------------------------
    def customer_upsert(self, *, customer: CustomerData) -> ErpCustomer:
        address = customer.address
        obj = AdxObject(
            groups={
                "BPC0_1": {
                    "BPCNUM": customer.number,
                    "BCGCOD": self.options.customer_category,
                    "BPCSTA": "2",
                },
                "BPRC_1": {"BPRNAM": [customer.name], "CUR": customer.currency},
            },
            tables={
                "BPAC_1": [
                    {
                        "CODADR": "MAIN",
                        "BPAADDLIG": [address.line1, address.line2, ""],
                        "CTY": address.city,
                        "SAT": address.state,
                        "POSCOD": address.postal_code,
                        "BPACRY": address.country,
                        "TEL1": customer.phone,
                        "WEB1": customer.email,
                        "BPAADDFLG": "2",
                    }
                ]
            },
        )
        parts: dict[str, Any] = {"publicName": self.options.customer_public_name}
        if customer.number and self.customer_get(number=customer.number):
            operation = "modify"
            parts["objectKeys"] = [("BPCNUM", customer.number)]
        else:
            operation = "save"
        parts["objectXml"] = adx_build(obj)
        return self._customer_from_result(self.client.soap_ok(operation, parts).obj())

    def sales_order_create(self, *, order: SalesOrderData) -> ErpDocument:
        header = {
            "SALFCY": self.options.site,
            "SOHTYP": self.options.order_type,
            "BPCORD": order.customer_number,
            "CUSORDREF": order.reference,
            "CUR": order.currency,
            "ORDDAT": import_date(order.order_date),
            **order.defaults,
        }
        lines: list[Fields] = [
            {
                "ITMREF": line.sku,
                "QTY": _amount(line.quantity),
                "GROPRI": _amount(line.unit_price),
                **({"ITMDES1": line.description} if line.description else {}),
            }
            for line in order.lines
        ]
        obj = AdxObject(groups={"SOH0_1": header}, tables={"SOH4_1": lines})
        result = self.client.soap_ok(
            "save", {"publicName": self.options.order_public_name, "objectXml": adx_build(obj)}
        )
        saved = result.obj()
        return ErpDocument(
            SALES_ORDER,
            saved.value("SOH0_1", "SOHNUM"),
            order.reference,
            raw={"lines": saved.tables.get("SOH4_1", []), "messages": self._messages_raw(result.messages)},
        )

    def invoice_create(self, *, invoice: InvoiceData) -> ErpDocument:
        """`save` on the sales invoice (SIH): one line on the service item the mapping names (field
        default invoice / ITMREF), INVREF carrying our reference."""
        defaults = dict(invoice.defaults)
        item = defaults.pop("ITMREF", "")
        if not item:
            raise ErpPermanentError(
                "No X3 item to invoice on: set the field default 'invoice' / ITMREF (a service item).",
                code="MappingMissing",
            )
        header = {
            "SALFCY": self.options.site,
            "SIVTYP": "INV",
            "BPCINV": invoice.customer_number,
            "INVREF": invoice.reference,
            "INVDAT": import_date(invoice.invoice_date),
            "CUR": invoice.currency,
            **defaults,
        }
        line = {"ITMREF": item, "QTY": "1", "NETPRI": _amount(invoice.amount)}
        obj = AdxObject(groups={"SIH0_1": header}, tables={"SIH4_1": [line]})
        result = self.client.soap_ok(
            "save", {"publicName": self.options.invoice_public_name, "objectXml": adx_build(obj)}
        )
        return ErpDocument(INVOICE, result.obj().value("SIH0_1", "NUM"), invoice.reference)

    def status_note_write(self, *, note: StatusNoteData) -> ErpDocument:
        """The sales invoice's header comment (SIH0_1 INVDES), by SOAP `modify` on SIH keyed by NUM:
        "<our reference> <status>: <note>". It is read first, so a retry after a lost answer writes
        nothing twice. X3 keeps no such note on an order or a customer through its web services."""
        keys = [("NUM", note.invoice_number)]
        public_name = self.options.invoice_public_name
        current = self.client.soap_ok("read", {"publicName": public_name, "objectKeys": keys}).obj()
        comment = current.value("SIH0_1", "INVDES")
        if comment.split()[:1] != [note.reference]:
            comment = f"{note.reference} {note.note}"[:250]
            obj = AdxObject(groups={"SIH0_1": {"INVDES": comment}})
            self.client.soap_ok(
                "modify", {"publicName": public_name, "objectKeys": keys, "objectXml": adx_build(obj)}
            )
        return ErpDocument(STATUS_NOTE, note.invoice_number, note.reference, raw={"INVDES": comment})

    # --- imports (AOWSIMPORT) -----------------------------------------------------------------
    def _import_run(self, template: str, documents: list[Document]) -> AdxResult:
        params = {
            "I_MODIMP": template,
            "I_AOWSTA": "NO",
            "I_EXEC": "REALTIME",
            "I_RECORDSEP": "|",
            "I_FILE": import_file_build(documents),
        }
        inputs = adx_build(AdxObject(groups={"GRP1": params}))
        return self.client.soap("run", {"publicName": self.options.import_public_name, "inputXml": inputs})

    def _import(
        self, template: str, documents: list[Document], references: list[str], document_type: str
    ) -> list[BatchItemResult]:
        """Import documents in one call; one result per document, in order, never raising."""
        try:
            result = self._import_run(template, documents)
        except ErpError as exc:
            return [BatchItemResult(reference=ref, error=exc) for ref in references]
        if not result.ok:
            error = self.client.result_error(result)
            return [BatchItemResult(reference=ref, error=error) for ref in references]
        outputs = result.obj().all_fields()
        outcomes = import_log_parse(str(outputs.get("O_MESSA", "")))
        request = str(outputs.get("O_REQNUM", ""))
        results = []
        for index, reference in enumerate(references, start=1):
            outcome = outcomes.get(index)
            if outcome is None:
                error: ErpError = ErpTransientError(
                    f"import {request}: no outcome logged for document {index}",
                    code="import",
                    maybe_applied=True,
                )
                results.append(BatchItemResult(reference=reference, error=error))
            elif outcome.error:
                results.append(
                    BatchItemResult(reference=reference, error=self.client.message_error(outcome.error))
                )
            else:
                raw = {"import_request": request, "template": template}
                document = ErpDocument(document_type, outcome.number, reference, raw=raw)
                results.append(BatchItemResult(reference=reference, document=document))
        return results

    def _import_one(
        self, template: str, document: Document, reference: str, document_type: str
    ) -> ErpDocument:
        (outcome,) = self._import(template, [document], [reference], document_type)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.document is not None  # one of the two is always set
        return outcome.document

    @staticmethod
    def _payment_document(receipt: ReceiptData) -> Document:
        header = {
            "PAYTYP": receipt.payment_code,
            "BPR": receipt.customer_number,
            "ACCDAT": import_date(receipt.receipt_date),
            "CUR": receipt.currency,
            "AMTCUR": _amount(receipt.amount),
            "REF": receipt.reference,
            "DES": receipt.description,
            "BAN": receipt.bank_code,
            **receipt.defaults,
        }
        document = [import_line("PAY", "H", header)]
        for application in receipt.applications:
            values = {
                "VCRTYP": "INV",
                "VCRNUM": application.invoice_number,
                "AMTLIN": _amount(application.amount),
            }
            document.append(import_line("PAY", "L", values))
        if receipt.unapplied > 0:
            # The rest stays on the customer's account as an unmatched payment line.
            document.append(import_line("PAY", "L", {"AMTLIN": _amount(receipt.unapplied)}))
        return document

    def receipt_batch_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        """Several payments in one AOWSIMPORT call; X3 imports each one on its own, so one bad record
        fails alone and the others are posted."""
        documents = [self._payment_document(receipt) for receipt in receipts]
        return self._import("PAY", documents, [r.reference for r in receipts], RECEIPT)

    def receipt_reverse(self, *, reversal: ReversalData) -> ErpDocument:
        """A payment of the opposite sign that names the original: X3's own payment cancellation
        produces the mirror payment, which restores the invoices' open balances."""
        original = self.client.soap_ok(
            "read",
            {
                "publicName": self.options.payment_public_name,
                "objectKeys": [("NUM", reversal.original_document_number)],
            },
        ).obj()
        header = {
            "PAYTYP": original.all_fields().get("PAYTYP", ""),
            "BPR": reversal.customer_number,
            "ACCDAT": import_date(reversal.document_date),
            "CUR": reversal.currency,
            "AMTCUR": _amount(-reversal.amount),
            "REF": reversal.reference,
            "DES": reversal.description or f"Reversal of {reversal.original_reference}",
            "BAN": original.all_fields().get("BAN", ""),
        }
        line = {
            "VCRTYP": "PAY",
            "VCRNUM": reversal.original_document_number,
            "AMTLIN": _amount(-reversal.amount),
        }
        document = [import_line("PAY", "H", header), import_line("PAY", "L", line)]
        return self._import_one("PAY", document, reversal.reference, REVERSAL)

    def _journal_document(
        self,
        *,
        reference: str,
        entry_date: date,
        currency: str,
        description: str,
        lines: list[dict[str, str]],
        defaults: dict[str, str],
    ) -> Document:
        header = {
            "TYP": self.options.journal_type,
            "ACCDAT": import_date(entry_date),
            "CUR": currency,
            "REF": reference,
            "DESVCR": description,
            **defaults,
        }
        return [import_line("GACC", "H", header), *(import_line("GACC", "L", line) for line in lines)]

    def credit_memo_post(self, *, memo: CreditMemoData) -> ErpDocument:
        """A customer credit note as an accounting entry (GACC): refunds account debited, the
        customer's receivable credited. A sales credit note (SIH) would need item lines we do not
        have for a card refund; the entry leaves an open credit X3 can match to the invoice."""
        description = memo.description or (
            f"Credit {memo.invoice_number}" if memo.invoice_number else f"Refund {memo.original_reference}"
        )
        amount = _amount(memo.amount)
        lines = [
            {
                "ACCNUM": memo.account or self.options.refund_account,
                "SNS": "1",
                "AMTCUR": amount,
                "DES": description,
            },
            {
                "ACCNUM": self.options.receivable_account,
                "BPR": memo.customer_number,
                "SNS": "-1",
                "AMTCUR": amount,
                "DES": description,
            },
        ]
        document = self._journal_document(
            reference=memo.reference,
            entry_date=memo.document_date,
            currency=memo.currency,
            description=description,
            lines=lines,
            defaults=memo.defaults,
        )
        return self._import_one("GACC", document, memo.reference, CREDIT_MEMO)

    def journal_entry_post(self, *, entry: JournalEntryData) -> ErpDocument:
        lines = []
        for line in entry.lines:
            if line.debit and line.credit:
                raise ErpPermanentError(f"journal line on {line.account} is both debit and credit")
            sign, amount = ("1", line.debit) if line.debit else ("-1", line.credit)
            lines.append(
                {"ACCNUM": line.account, "SNS": sign, "AMTCUR": _amount(amount), "DES": line.description}
            )
        document = self._journal_document(
            reference=entry.reference,
            entry_date=entry.entry_date,
            currency=entry.currency,
            description=entry.description,
            lines=lines,
            defaults=entry.defaults,
        )
        return self._import_one("GACC", document, entry.reference, JOURNAL_ENTRY)
