"""The fake ERP's connector, written the way the README's "add an ERP" recipe says: an `ErpConnector`
subclass with its payloads and its look-up by our reference, and an `ErpErrors` subclass with its error
mapping. Everything else (being built from a Connection, the transcript, sending once, batching
receipts, classifying HTTP failures) comes from the base. Its server is `fake_erp_server.py`."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import requests

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
    InvoiceData,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    StatusNoteData,
    StockLevel,
)
from integrations.sage.connector import ConnectorSettings, ErpConnector
from integrations.sage.errors import ErpErrors, ErrorParts

Record = dict[str, Any]


class FakeErrors(ErpErrors):
    transient_codes = frozenset({"UNAVAILABLE"})

    def response_parts(self, response: requests.Response) -> ErrorParts:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return super().response_parts(response)
        return ErrorParts(code=error["code"], message=error["message"], raw=error)


ERRORS = FakeErrors()


def _customer(record: Record) -> ErpCustomer:
    return ErpCustomer(
        number=record["number"],
        name=record.get("name", ""),
        email=record.get("email", ""),
        phone=record.get("phone", ""),
        currency=record.get("currency", ""),
        address=Address(city=record.get("city", "")),
        updated_at=datetime.fromisoformat(record["updated"]),
        raw=record,
    )


def _invoice(record: Record) -> ErpInvoice:
    return ErpInvoice(
        number=record["number"],
        customer_number=record["customer"],
        currency="USD",
        amount=Decimal(record["amount"]),
        balance=Decimal(record["balance"]),
        issued_on=date.fromisoformat(record["issued"]),
        due_on=date.fromisoformat(record["due"]),
        reference=record["reference"],
        raw=record,
    )


def _document(record: Record) -> ErpDocument:
    return ErpDocument(record["type"], record["number"], record["reference"], raw=record)


class FakeConnector(ErpConnector):
    system = "fake_erp"
    default_receipt_batch_size = 10

    def __init__(self, *, settings: ConnectorSettings):
        key = str(settings.credentials.get("api_key", ""))
        super().__init__(settings=settings, transport=settings.http(headers={"X-Api-Key": key}))

    def _get(self, path: str, **params: str) -> Any:
        response = ERRORS.request(self.transport, "GET", path, missing_ok=True, params=params)
        return None if response is None else response.json()

    def _send(self, method: str, path: str, body: Any) -> Any:
        return ERRORS.request(self.transport, method, path, json=body).json()

    def connection_test(self) -> ConnectionCheck:
        try:
            company = self._get("company")
        except ErpError as error:
            return ConnectionCheck(ok=False, message=str(error))
        return ConnectionCheck(ok=True, message=f"{company['name']}: {company['customers']} customers")

    def customer_upsert(self, *, customer: CustomerData) -> ErpCustomer:
        record = {
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "currency": customer.currency,
            "city": customer.address.city,
            "reference": customer.reference,
        }
        if customer.number and self.customer_get(number=customer.number):
            changes = {name: value for name, value in record.items() if value}  # a blank never wipes
            return _customer(self._send("PATCH", f"customers/{customer.number}", changes))
        return _customer(self._send("POST", "customers", {**record, "number": customer.number}))

    def customer_get(self, *, number: str) -> ErpCustomer | None:
        record = self._get(f"customers/{number}")
        return _customer(record) if record else None

    def _customers(self, **query: str) -> list[ErpCustomer]:
        return [_customer(record) for record in self._get("customers", **query)["results"]]

    def customer_find_by_email(self, *, email: str) -> list[ErpCustomer]:
        return self._customers(email=email)

    def customer_find_by_name(self, *, name: str) -> list[ErpCustomer]:
        return self._customers(name=name)

    def customers_changed(self, *, since: datetime | None) -> Iterator[ErpCustomer]:
        return iter(
            self._customers(**({"changed_since": since.astimezone(UTC).isoformat()} if since else {}))
        )

    def invoices_open(self, *, customer_number: str) -> list[ErpInvoice]:
        return [_invoice(record) for record in self._get("invoices", customer=customer_number)["results"]]

    def invoice_get(self, *, number: str) -> ErpInvoice | None:
        record = self._get(f"invoices/{number}")
        return _invoice(record) if record else None

    def invoices_changed(self, *, since: datetime | None) -> Iterator[ErpInvoice]:
        stamp = (since or datetime.min.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        return iter([_invoice(record) for record in self._get("invoices", changed_since=stamp)["results"]])

    def stock_levels(self, *, skus: list[str]) -> list[StockLevel]:
        return [
            StockLevel(s["sku"], s["location"], Decimal(s["on_hand"]), Decimal(s["allocated"]))
            for s in self._get("stock", sku=",".join(skus))["results"]
        ]

    def sales_order_create(self, *, order: SalesOrderData) -> ErpDocument:
        lines = [
            {"sku": line.sku, "quantity": str(line.quantity), "price": str(line.unit_price)}
            for line in order.lines
        ]
        body = {"reference": order.reference, "customer": order.customer_number, "lines": lines}
        return _document(self._send("POST", "orders", body))

    def receipt_batch_post(self, *, receipts: list[ReceiptData]) -> list[BatchItemResult]:
        body = [
            {
                "reference": receipt.reference,
                "customer": receipt.customer_number,
                "amount": str(receipt.amount),
                "applications": [
                    {"invoice": a.invoice_number, "amount": str(a.amount)} for a in receipt.applications
                ],
            }
            for receipt in receipts
        ]
        return [
            BatchItemResult(receipt.reference, document=_document(answer["document"]))
            if "document" in answer
            else BatchItemResult(
                receipt.reference,
                error=ERRORS.error(answer["error"]["message"], code=answer["error"]["code"]),
            )
            for receipt, answer in zip(receipts, self._send("POST", "receipts", body), strict=True)
        ]

    def receipt_reverse(self, *, reversal: ReversalData) -> ErpDocument:
        body = {"reference": reversal.reference, "original": reversal.original_document_number}
        return _document(self._send("POST", "reversals", body))

    def credit_memo_post(self, *, memo: CreditMemoData) -> ErpDocument:
        body = {
            "reference": memo.reference,
            "customer": memo.customer_number,
            "amount": str(memo.amount),
            "invoice": memo.invoice_number,
            "account": memo.account,
        }
        return _document(self._send("POST", "credit-memos", body))

    def invoice_create(self, *, invoice: InvoiceData) -> ErpDocument:
        body = {
            "reference": invoice.reference,
            "customer": invoice.customer_number,
            "amount": str(invoice.amount),
            "issued": invoice.invoice_date.isoformat(),
            "due": invoice.due_date.isoformat(),
        }
        return _document(self._send("POST", "invoices", body))

    def journal_entry_post(self, *, entry: JournalEntryData) -> ErpDocument:
        lines = [
            {"account": line.account, "debit": str(line.debit), "credit": str(line.credit)}
            for line in entry.lines
        ]
        return _document(self._send("POST", "journals", {"reference": entry.reference, "lines": lines}))

    def status_note_write(self, *, note: StatusNoteData) -> ErpDocument:
        raise ErpPermanentError("the fake ERP keeps no payment notes", code="NotSupported")

    def document_find(self, *, document_type: str, reference: str) -> ErpDocument | None:
        if document_type == "customer":
            found = self._customers(reference=reference)
            return ErpDocument("customer", found[0].number, reference, raw=found[0].raw) if found else None
        results = self._get("documents", type=document_type, reference=reference)["results"]
        return _document(results[0]) if results else None
