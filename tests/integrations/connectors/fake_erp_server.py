"""A fourth ERP for the "add an ERP" test: a small JSON API over real HTTP (a local `http.server` thread),
its books in memory, seeded from the demo world every simulator uses.

    GET  /company                        who am I: {"name", "customers"}
    GET  /customers/<number>             one customer, 404 when absent
    GET  /customers?email=&name=&reference=&changed_since=
    POST /customers                      create (number blank: numbered "F<n>"); PATCH /customers/<number>
    GET  /invoices?customer=<number>     open invoices, oldest first; GET /invoices/<number>
    GET  /invoices?changed_since=<ISO>   every invoice (open or not) changed since
    GET  /stock?sku=A,B
    POST /orders, /credit-memos, /journals, /reversals, /invoices    one document each, 201
    POST /receipts                       a list; 200 [{"document": ...} | {"error": ...}], each on its own
    GET  /documents?type=&reference=     our documents by our reference
Header `X-Api-Key`. Errors: {"error": {"code", "message"}}: 401 AUTH, 404 NOT_FOUND, 409 DUPLICATE /
ALREADY_REVERSED, 422 for what the books refuse, 503 UNAVAILABLE. Faults, as the simulators'
`FaultProfile` counts them: `inject(error_next=, timeout_next=, applied_timeout_next=, hang_seconds=)`."""

import itertools
import json
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from simulators import demo_data

ACCOUNTS = frozenset({"1000", "1050", "4100", "6100"})
Record = dict[str, Any]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


class Books:
    """The fake ERP's data and rules; one lock, so concurrent requests see whole documents."""

    def __init__(self, *, today: date):
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        self.customers: dict[str, Record] = {
            c.number: {
                "number": c.number,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "currency": c.currency,
                "city": c.city,
                "reference": "",
                "updated": _now(),
            }
            for c in demo_data.CUSTOMERS
        }
        self.invoices: dict[str, Record] = {
            i.number: {
                "number": i.number,
                "customer": i.customer_number,
                "amount": str(i.amount),
                "balance": str(i.amount),
                "issued": i.issued_on(today).isoformat(),
                "due": i.due_on(today).isoformat(),
                "reference": i.reference,
                "updated": _now(),
            }
            for i in demo_data.INVOICES
        }
        self.stock: dict[str, Record] = {
            item.sku: {"sku": item.sku, "location": item.location, "on_hand": item.on_hand, "allocated": 0}
            for item in demo_data.ITEMS
        }
        self.documents: dict[tuple[str, str], Record] = {}

    def _number(self, prefix: str) -> str:
        return f"{prefix}{next(self.numbers):05d}"

    def _customer(self, number: str) -> Record:
        if number not in self.customers:
            raise Refused(422, "UNKNOWN_CUSTOMER", f"Customer {number} does not exist")
        return self.customers[number]

    def _file(self, document_type: str, prefix: str, body: Record) -> Record:
        """Keep a document of ours under our reference: one per reference and type."""
        reference = body["reference"]
        if (document_type, reference) in self.documents:
            raise Refused(409, "DUPLICATE", f"{document_type} {reference} exists")
        document = {**body, "type": document_type, "number": self._number(prefix)}
        self.documents[document_type, reference] = document
        return document

    def _invoice(self, number: str) -> Record:
        if number not in self.invoices:
            raise Refused(422, "UNKNOWN_INVOICE", f"Invoice {number} does not exist")
        return self.invoices[number]

    def _apply(self, invoice: str, amount: Decimal) -> None:
        record = self._invoice(invoice)
        if amount > _money(record["balance"]):
            raise Refused(422, "OVER_APPLIED", f"{amount} exceeds the {record['balance']} open on {invoice}")
        record["balance"] = str(_money(record["balance"]) - amount)
        record["updated"] = _now()

    # --- writes ------------------------------------------------------------------------------------

    def customer_create(self, body: Record) -> Record:
        if not body.get("name"):
            raise Refused(422, "REQUIRED", "name is required")
        number = body.get("number") or self._number("F")
        if number in self.customers:
            raise Refused(409, "DUPLICATE", f"Customer {number} exists")
        self.customers[number] = {**body, "number": number, "updated": _now()}
        return self.customers[number]

    def customer_update(self, number: str, body: Record) -> Record:
        self._customer(number).update({**body, "number": number, "updated": _now()})
        return self.customers[number]

    def order_create(self, body: Record) -> Record:
        self._customer(body["customer"])
        for line in body["lines"]:
            if line["sku"] not in self.stock:
                raise Refused(422, "UNKNOWN_ITEM", f"Item {line['sku']} does not exist")
        document = self._file("sales_order", "SO", body)
        for line in body["lines"]:
            stock = self.stock[line["sku"]]
            stock["allocated"] += min(_money(line["quantity"]), stock["on_hand"] - stock["allocated"])
        return document

    def receipt_create(self, body: Record) -> Record:
        self._customer(body["customer"])
        applied = sum((_money(a["amount"]) for a in body["applications"]), Decimal("0"))
        if applied > _money(body["amount"]):
            raise Refused(422, "OVER_APPLIED", f"{applied} applied out of {body['amount']}")
        if ("receipt", body["reference"]) in self.documents:
            raise Refused(409, "DUPLICATE", f"receipt {body['reference']} exists")
        balances = {number: dict(invoice) for number, invoice in self.invoices.items()}
        try:
            for application in body["applications"]:
                self._apply(application["invoice"], _money(application["amount"]))
        except Refused:
            self.invoices = balances  # a refused receipt applies nothing
            raise
        return self._file("receipt", "RC", body)

    def reversal_create(self, body: Record) -> Record:
        original = next(
            (
                d
                for d in self.documents.values()
                if d["type"] == "receipt" and d["number"] == body["original"]
            ),
            None,
        )
        if original is None:
            raise Refused(422, "UNKNOWN_RECEIPT", f"Receipt {body['original']} does not exist")
        if original.get("reversed_by"):
            raise Refused(409, "ALREADY_REVERSED", f"Receipt {original['number']} is already reversed")
        document = self._file("reversal", "RV", body)
        for application in original["applications"]:
            self._apply(application["invoice"], -_money(application["amount"]))
        original["reversed_by"] = document["number"]
        return document

    def credit_memo_create(self, body: Record) -> Record:
        self._customer(body["customer"])
        if body["account"] not in ACCOUNTS:
            raise Refused(422, "UNKNOWN_ACCOUNT", f"Account {body['account']} does not exist")
        if body["invoice"]:
            open_amount = _money(self._invoice(body["invoice"])["balance"])
            self._apply(body["invoice"], min(open_amount, _money(body["amount"])))
        return self._file("credit_memo", "CM", body)

    def invoice_create(self, body: Record) -> Record:
        """An invoice of ours: filed under our reference, and open in the books for its amount."""
        self._customer(body["customer"])
        document = self._file("invoice", "IN", body)
        self.invoices[document["number"]] = {
            "number": document["number"],
            "customer": body["customer"],
            "amount": body["amount"],
            "balance": body["amount"],
            "issued": body["issued"],
            "due": body["due"],
            "reference": body["reference"],
            "updated": _now(),
        }
        return document

    def journal_create(self, body: Record) -> Record:
        for line in body["lines"]:
            if line["account"] not in ACCOUNTS:
                raise Refused(422, "UNKNOWN_ACCOUNT", f"Account {line['account']} does not exist")
        debit = sum((_money(line["debit"]) for line in body["lines"]), Decimal("0"))
        credit = sum((_money(line["credit"]) for line in body["lines"]), Decimal("0"))
        if debit != credit:
            raise Refused(422, "UNBALANCED", f"debits {debit} and credits {credit} differ")
        return self._file("journal_entry", "JE", body)


class FakeErpServer:
    """`start()` serves the books on 127.0.0.1 (a free port) from a daemon thread; `stop()` ends it."""

    def __init__(self, *, api_key: str, today: date):
        self.api_key = api_key
        self.books = Books(today=today)
        self.faults: dict[str, float] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"

    def start(self) -> "FakeErpServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def inject(self, **counters: float) -> None:
        self.faults.update(counters)

    def fault_take(self, name: str) -> bool:
        with self.books.lock:
            if self.faults.get(name, 0) <= 0:
                return False
            self.faults[name] -= 1
            return True

    def hang(self) -> None:
        time.sleep(self.faults.get("hang_seconds", 3.0))

    def get(self, path: list[str], query: dict[str, str]) -> Any:
        books = self.books
        resource, key = path[0], (path[1] if len(path) > 1 else "")
        if resource == "company":
            return {"name": "Fake ERP", "customers": len(books.customers)}
        if resource in ("customers", "invoices") and key:
            record = getattr(books, resource).get(key)
            if record is None:
                raise Refused(404, "NOT_FOUND", f"{resource} {key} does not exist")
            return record
        if resource == "customers":
            since = query.get("changed_since")
            return {
                "results": [
                    c
                    for c in books.customers.values()
                    if all(
                        c.get(name, "").casefold() == query[name].casefold()
                        for name in ("email", "name", "reference")
                        if name in query
                    )
                    and (since is None or c["updated"] >= since)
                ]
            }
        if resource == "invoices" and "changed_since" in query:
            return {"results": [i for i in books.invoices.values() if i["updated"] >= query["changed_since"]]}
        if resource == "invoices":
            rows = [
                i
                for i in books.invoices.values()
                if i["customer"] == query.get("customer") and _money(i["balance"]) > 0
            ]
            return {"results": sorted(rows, key=lambda i: (i["issued"], i["number"]))}
        if resource == "stock":
            wanted = query.get("sku", "").split(",")
            return {"results": [stock for sku, stock in books.stock.items() if sku in wanted]}
        if resource == "documents":
            found = books.documents.get((query.get("type", ""), query.get("reference", "")))
            return {"results": [found] if found else []}
        raise Refused(404, "NOT_FOUND", f"no resource {resource}")

    def write(self, method: str, path: list[str], body: Any) -> tuple[int, Any]:
        books = self.books
        if method == "PATCH" and path[0] == "customers":
            return 200, books.customer_update(path[1], body)
        if path[0] == "receipts":
            answers = []
            for receipt in body:
                try:
                    answers.append({"document": books.receipt_create(receipt)})
                except Refused as refused:
                    answers.append({"error": {"code": refused.code, "message": refused.message}})
            return 200, answers
        creators = {
            "customers": books.customer_create,
            "orders": books.order_create,
            "reversals": books.reversal_create,
            "credit-memos": books.credit_memo_create,
            "journals": books.journal_create,
            "invoices": books.invoice_create,
        }
        if path[0] not in creators:
            raise Refused(404, "NOT_FOUND", f"no resource {path[0]}")
        return 201, creators[path[0]](body)


def _handler_for(server: FakeErpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test output stays clean

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            path = [unquote(part) for part in url.path.split("/")[2:] if part]  # after /api/
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if self.headers.get("X-Api-Key") != server.api_key:
                return self._answer(401, {"error": {"code": "AUTH", "message": "Unknown API key"}})
            if server.fault_take("timeout_next"):
                server.hang()
                return self._answer(503, {"error": {"code": "UNAVAILABLE", "message": "Too late"}})
            if server.fault_take("error_next"):
                return self._answer(
                    503, {"error": {"code": "UNAVAILABLE", "message": "Down for maintenance"}}
                )
            try:
                with server.books.lock:
                    if self.command == "GET":
                        status, answer = HTTPStatus.OK, server.get(path, query)
                    else:
                        status, answer = server.write(self.command, path, body)
            except Refused as refused:
                return self._answer(
                    refused.status, {"error": {"code": refused.code, "message": refused.message}}
                )
            if self.command != "GET" and server.fault_take("applied_timeout_next"):
                server.hang()  # written, but the answer comes too late
            self._answer(status, answer)

        do_GET = do_POST = do_PATCH = _serve

    return Handler
