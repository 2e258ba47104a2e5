"""Sage Pro contract suite. Sage Pro publishes no API, so there is no vendor artefact to replay: this suite
rests on Paysage's own seed contract, the module docstring of integrations/sage/sagepro/contract.py (Sage
Pro's upper-case FoxPro field names; a REST gateway with its paging, filters, errors and statuses; a CSV
drop folder with its file names, flattened rows, result files and exports). It is transcribed below as
data (CONTRACT_*), and each side is held to that transcription, never to the other side:

(a) our simulator, over real HTTP and through its drop folder fed with hand-written import files, must
    answer with exactly the contract's records, page shape, error shape and statuses, and CSV layouts;
(b) our connector must read the contract's answers served by a replay stub (records written here from the
    contract, not taken from the simulator), and a drop folder where this test plays Sage Pro's import.

What it proves: simulator and connector agree with the written contract independently, so a change to
either that leaves the contract fails here. What it cannot prove: that a real Sage Pro site exposes this
gateway or imports these files; a site needs the gateway built, or import templates set up to these
layouts, and the contract is only as right as that build.
"""

import base64
import csv
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from integrations.models import System
from integrations.sage.base import (
    ErpPermanentError,
    ErpTransientError,
    JournalEntryData,
    JournalLine,
    ReceiptApplication,
    ReceiptData,
)
from integrations.sage.registry import connector_for
from integrations.sage.sagepro import contract
from simulators.sagepro.drop import sandbox_sagepro_drop_process
from simulators.sagepro.services import sandbox_sagepro_seed, sandbox_sagepro_site_ensure
from tests.contracts.http_replay import Answer, Received, ReplayStub, replay_stub
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db
LIVE = pytest.mark.django_db(transaction=True)

# --- the contract, transcribed from integrations/sage/sagepro/contract.py ------------------------------

CONTRACT_RECORDS = {
    "customers": "CUSTNO COMPANY ADDRESS1 ADDRESS2 CITY STATE ZIP COUNTRY PHONE EMAIL TERMS CREDITLMT "
    "CURRENCY REFERENCE UPDATED",
    "invoices": "INVNO DOCTYPE CUSTNO INVDATE DUEDATE INVAMT BALANCE CURRENCY PONUM REFERENCE GLACCT "
    "APPLINVNO DESCRIPT PAYSTATUS UPDATED",
    "payments": "RCPTNO CUSTNO CHECKNO PAYDATE PAYAMT UNAPPLIED CURRENCY PAYCODE BANKNO GLACCT BATCH "
    "DESCRIPT STATUS REVERSES APPLS UPDATED",
    "orders": "SONO CUSTNO ORDDATE PONUM CURRENCY STATUS LINES UPDATED",
    "journalentries": "BATCH TRANDATE REFERENCE DESCRIPT LINES UPDATED",
    "paymentnotes": "NOTENO CUSTNO INVNO SONO PAYSTATUS NOTE REFERENCE NOTEDATE UPDATED",
    "items": "ITEM DESCRIP PRICE LOCTID ONHAND ALLOC",
}
CONTRACT_CHILDREN = {
    "payments": ("APPLS", "APPLINVNO APPLAMT"),
    "orders": ("LINES", "ITEM LOCTID QTYORD PRICE QTYALLOC QTYBACK"),
    "journalentries": ("LINES", "GLACNT DEBIT CREDIT DESCRIPT"),
}
CONTRACT_KEYS = {"customers": "CUSTNO", "invoices": "INVNO", "payments": "RCPTNO", "orders": "SONO"}
CONTRACT_KEYS["journalentries"] = "BATCH"  # items: a list only
CONTRACT_KEYS["paymentnotes"] = "NOTENO"
CONTRACT_REFERENCES = {
    "customers": "REFERENCE",
    "invoices": "REFERENCE",
    "payments": "CHECKNO",
    "orders": "PONUM",
    "journalentries": "REFERENCE",
    "paymentnotes": "REFERENCE",
}
CONTRACT_FILTERS = {
    "customers": "custno email company reference updated_since",
    "invoices": "custno open doctype ponum reference updated_since",
    "payments": "custno checkno reference batch status updated_since",
    "orders": "custno ponum reference updated_since",
    "journalentries": "reference batch updated_since",
    "paymentnotes": "custno invno reference updated_since",
    "items": "item loctid",
}
CONTRACT_IMPORTS = {
    "CUSTOMER": "customers",
    "ARINV": "invoices",
    "ARCASH": "payments",
    "SOORD": "orders",
    "GLTRAN": "journalentries",
    "ARPSTAT": "paymentnotes",
}
CONTRACT_RESULT_COLUMNS = ["ROW", "REFERENCE", "STATUS", "DOCNO", "CODE", "MESSAGE"]
CONTRACT_PAGE = {"count", "page", "page_size", "next", "results"}
CONTRACT_SITE = {"SITE", "COMPANY", "VERSION", "TIME"}
MONEY = {"CREDITLMT", "INVAMT", "BALANCE", "PAYAMT", "UNAPPLIED", "APPLAMT", "PRICE", "DEBIT", "CREDIT"}
QUANTITIES = {"QTYORD", "QTYALLOC", "QTYBACK", "ONHAND", "ALLOC"}
DATES = {"INVDATE", "DUEDATE", "PAYDATE", "ORDDATE", "TRANDATE", "NOTEDATE"}
_MONEY = re.compile(r"-?\d+\.\d{2}")
_QUANTITY = re.compile(r"-?\d+(\.\d+)?")


def _fields(resource: str) -> list[str]:
    return CONTRACT_RECORDS[resource].split()


def _columns(resource: str) -> list[str]:
    """A resource's CSV columns: its fields with the child list flattened into the child's columns (a
    journal line's DESCRIPT takes the batch's column, as the contract says)."""
    children, child_columns = CONTRACT_CHILDREN.get(resource, ("", ""))
    return list(
        dict.fromkeys([name for name in _fields(resource) if name != children] + child_columns.split())
    )


def _assert_formats(record: dict[str, Any]) -> None:
    """Money two-decimal strings, quantities decimal strings, dates YYYY-MM-DD, UPDATED ISO 8601 UTC."""
    for name, value in record.items():
        if name in MONEY:
            assert isinstance(value, str) and _MONEY.fullmatch(value), (name, value)
        elif name in QUANTITIES:
            assert isinstance(value, str) and _QUANTITY.fullmatch(value), (name, value)
        elif name in DATES and value:
            date.fromisoformat(value)
        elif name == "UPDATED":
            assert datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset().total_seconds() == 0
        elif isinstance(value, list):
            for child in value:
                _assert_formats(child)


def test_the_connectors_resource_table_is_the_contracts():
    assert {
        name: spec.key for name, spec in contract.RESOURCES.items() if spec.key != "ITEM"
    } == CONTRACT_KEYS
    assert {n: s.reference for n, s in contract.RESOURCES.items() if s.reference} == CONTRACT_REFERENCES
    assert {s.import_prefix: n for n, s in contract.RESOURCES.items() if s.import_prefix} == CONTRACT_IMPORTS
    assert {
        name: (spec.children, " ".join(spec.child_columns))
        for name, spec in contract.RESOURCES.items()
        if spec.children
    } == CONTRACT_CHILDREN


# --- (a) the simulator against the contract ------------------------------------------------------------

API_KEY = "sagepro-contract-key"


class Gateway:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        response = requests.request(
            method,
            f"{self.base}/api/{path}",
            json=body,
            headers={"X-Api-Key": API_KEY, **headers},
            timeout=10,
        )
        return response.status_code, response.json()


def _receipt(checkno: str, amount: str, *applications: tuple[str, str], custno: str = "C1001") -> dict:
    return {
        "CUSTNO": custno,
        "CHECKNO": checkno,
        "PAYDATE": "2026-11-30",
        "PAYAMT": amount,
        "CURRENCY": "USD",
        "APPLS": [{"APPLINVNO": invno, "APPLAMT": applied} for invno, applied in applications],
    }


ORDER = {
    "CUSTNO": "C1002",
    "ORDDATE": "2026-11-30",
    "PONUM": "WEB-7001",
    "CURRENCY": "USD",
    "LINES": [{"ITEM": "TENT-2P", "LOCTID": "WH1", "QTYORD": "2", "PRICE": "249.00"}],
}
JOURNAL = {
    "TRANDATE": "2026-11-30",
    "REFERENCE": "FEES-2026-11-30",
    "DESCRIPT": "Card fees",
    "LINES": [
        {"GLACNT": "6100", "DEBIT": "12.50", "CREDIT": "0.00", "DESCRIPT": "Fees"},
        {"GLACNT": "1050", "DEBIT": "0.00", "CREDIT": "12.50", "DESCRIPT": "Fees"},
    ],
}


PAYMENT_NOTE = {
    "CUSTNO": "C1001",
    "INVNO": "INV-5001",
    "PAYSTATUS": "Payment Failed",
    "NOTE": "Payment Failed: PayTrace PT-404 declined",
    "REFERENCE": "PT-404",
    "NOTEDATE": "2026-11-30",
}


@pytest.fixture
def gateway(sandbox_base) -> Gateway:
    sandbox_sagepro_site_ensure(site="DEMO", api_key=API_KEY)
    sandbox_sagepro_seed(site="DEMO")
    gateway = Gateway(f"{sandbox_base}/sagepro")
    # One document of each kind the seed lacks, each created as the contract says: 201 + the record.
    for resource, body in (
        ("payments", _receipt("PT-100", "300.00", ("INV-5002", "300.00"))),
        ("orders", ORDER),
        ("journalentries", JOURNAL),
        ("paymentnotes", PAYMENT_NOTE),
    ):
        status, record = gateway.call("POST", resource, body)
        assert status == 201 and sorted(record) == sorted(_fields(resource)), record
    return gateway


@LIVE
def test_the_simulator_answers_every_resource_with_the_contracts_records(gateway):
    status, site = gateway.call("GET", "site")
    assert status == 200 and set(site) == CONTRACT_SITE
    for resource in CONTRACT_RECORDS:
        status, page = gateway.call("GET", resource)
        assert status == 200 and set(page) == CONTRACT_PAGE and page["page_size"] == 50
        assert page["results"], f"no {resource} to hold against the contract"
        children, child_columns = CONTRACT_CHILDREN.get(resource, ("", ""))
        for record in page["results"]:
            assert sorted(record) == sorted(_fields(resource)), resource
            _assert_formats(record)
            for child in record.get(children, []):
                assert sorted(child) == sorted(child_columns.split()), resource
        if resource in CONTRACT_KEYS:
            first = page["results"][0]
            assert gateway.call("GET", f"{resource}/{first[CONTRACT_KEYS[resource]]}") == (200, first)
            status, missing = gateway.call("GET", f"{resource}/NO-SUCH-KEY")
            assert status == 404 and missing["error"]["code"] == "NOT_FOUND"


@LIVE
def test_the_simulator_takes_every_documented_filter_and_refuses_others(gateway):
    for resource, filters in CONTRACT_FILTERS.items():
        for name in filters.split():
            value = "2020-01-01T00:00:00Z" if name == "updated_since" else "1" if name == "open" else "X"
            status, page = gateway.call("GET", f"{resource}?{name}={value}")
            assert status == 200 and set(page) == CONTRACT_PAGE, (resource, name, page)
        status, body = gateway.call("GET", f"{resource}?colour=red")
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, "UNKNOWN_FILTER", "colour")


@LIVE
def test_the_simulator_pages_as_the_contract_says(gateway):
    status, first = gateway.call("GET", "invoices?page_size=3")
    assert (status, first["page"], first["page_size"], len(first["results"])) == (200, 1, 3, 3)
    following = requests.get(first["next"], headers={"X-Api-Key": API_KEY}, timeout=10).json()
    assert following["page"] == 2 and "page_size=3" in first["next"] and first["next"].startswith("http")
    assert gateway.call("GET", "invoices?page_size=1000")[1]["page_size"] == 200
    _, last = gateway.call("GET", f"invoices?page_size={first['count']}")
    assert last["next"] is None


# The contract's error codes, each with the status it documents, and a request that earns it.
CONTRACT_ERRORS = [
    ("AUTH_FAILED", 401, ("GET", "customers", None, {"X-Api-Key": "wrong"})),
    ("NOT_FOUND", 404, ("GET", "customers/NOPE", None, {})),
    ("DUPLICATE_RECEIPT", 409, ("POST", "payments", _receipt("PT-100", "300.00"), {})),
    ("DUPLICATE_PONUM", 409, ("POST", "orders", ORDER, {})),
    ("DUPLICATE_REFERENCE", 409, ("POST", "journalentries", JOURNAL, {})),
    ("DUPLICATE_CUSTNO", 409, ("POST", "customers", {"CUSTNO": "C1001", "COMPANY": "Again"}, {})),
    ("REQUIRED", 422, ("POST", "customers", {"COMPANY": ""}, {})),
    ("UNKNOWN_CUSTOMER", 422, ("POST", "payments", _receipt("PT-101", "1.00", custno="NOPE"), {})),
    (
        "UNKNOWN_ITEM",
        422,
        ("POST", "orders", {**ORDER, "PONUM": "W-2", "LINES": [{"ITEM": "X", "QTYORD": "1"}]}, {}),
    ),
    (
        "UNKNOWN_ACCOUNT",
        422,
        (
            "POST",
            "journalentries",
            {
                **JOURNAL,
                "REFERENCE": "R-2",
                "LINES": [{"GLACNT": "9999", "DEBIT": "1.00"}, {"GLACNT": "1050", "CREDIT": "1.00"}],
            },
            {},
        ),
    ),
    (
        "APPLY_EXCEEDS_BALANCE",
        422,
        ("POST", "payments", _receipt("PT-102", "20.00", ("INV-5002", "20.00")), {}),
    ),
    (
        "UNBALANCED",
        422,
        (
            "POST",
            "journalentries",
            {
                **JOURNAL,
                "REFERENCE": "R-3",
                "LINES": [{"GLACNT": "6100", "DEBIT": "2.00"}, {"GLACNT": "1050", "CREDIT": "1.00"}],
            },
            {},
        ),
    ),
]


@LIVE
def test_the_simulator_refuses_with_the_contracts_codes_statuses_and_error_shape(gateway):
    for code, status, (method, path, body, headers) in CONTRACT_ERRORS:
        answered, error = gateway.call(method, path, body, **headers)
        assert (answered, set(error), set(error["error"]), error["error"]["code"]) == (
            status,
            {"error"},
            {"code", "message", "field"},
            code,
        ), error
    status, error = gateway.call("POST", "customers", [{"COMPANY": "an array where one object goes"}])
    assert (status, error["error"]["code"]) == (400, "BAD_JSON")


@LIVE
def test_the_simulator_answers_a_payments_array_row_by_row_and_puts_customers(gateway):
    rows = [_receipt("PT-200", "5.00"), _receipt("PT-201", "5.00", custno="NOPE")]
    status, answer = gateway.call("POST", "payments", rows)
    assert status == 200 and set(answer) == {"results"}
    ok, refused = answer["results"]
    assert (ok["row"], ok["status"], sorted(ok["record"])) == (1, "ok", sorted(_fields("payments")))
    assert (refused["row"], refused["status"], refused["error"]["code"]) == (2, "error", "UNKNOWN_CUSTOMER")
    assert gateway.call("POST", "payments", [_receipt(f"B-{n}", "1.00") for n in range(201)])[0] == 400
    status, updated = gateway.call("PUT", "customers/C1001", {"PHONE": "206-555-0199"})
    assert status == 200 and sorted(updated) == sorted(_fields("customers"))
    assert (updated["PHONE"], updated["COMPANY"]) == ("206-555-0199", "Acme Outdoor Supply")
    basic = base64.b64encode(f"DEMO:{API_KEY}".encode()).decode()
    assert gateway.call("GET", "site", **{"X-Api-Key": "", "Authorization": f"Basic {basic}"})[0] == 200


def _csv_write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(c for row in rows for c in row)))
        writer.writeheader()
        writer.writerows(rows)


def _csv_read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


# Import files as the contract lays them out, one per prefix, children flattened one row per child with
# the parent's columns repeated; each with a document Sage Pro refuses. (stem, rows, expected results as
# ROW, REFERENCE, STATUS, CODE)
STAMP = "20261130T120000000000"
RECEIPT_ROW = {"CUSTNO": "C1001", "CHECKNO": "PT-300", "PAYDATE": "2026-11-30", "PAYAMT": "100.00"}
ORDER_ROW = {"CUSTNO": "C1002", "ORDDATE": "2026-11-30", "PONUM": "WEB-7002", "LOCTID": "WH1"}
JOURNAL_ROW = {"TRANDATE": "2026-11-30", "REFERENCE": "FEES-7", "DESCRIPT": "Card fees"}
IMPORT_FILES = [
    (
        f"CUSTOMER_{STAMP}_c",
        [
            {"CUSTNO": "", "COMPANY": "Harbor Tools", "EMAIL": "ar@harbor.example", "REFERENCE": "PTC-1"},
            {"CUSTNO": "", "COMPANY": "", "EMAIL": "nobody@harbor.example", "REFERENCE": "PTC-2"},
        ],
        [("1", "PTC-1", "OK", ""), ("2", "PTC-2", "ERROR", "REQUIRED")],
    ),
    (
        f"ARCASH_{STAMP}_r",
        [
            {**RECEIPT_ROW, "APPLINVNO": "INV-5001", "APPLAMT": "60.00"},
            {**RECEIPT_ROW, "APPLINVNO": "INV-5002", "APPLAMT": "40.00"},
            {**RECEIPT_ROW, "CUSTNO": "NOPE", "CHECKNO": "PT-301", "APPLINVNO": "", "APPLAMT": ""},
        ],
        [("1", "PT-300", "OK", ""), ("3", "PT-301", "ERROR", "UNKNOWN_CUSTOMER")],
    ),
    (
        f"SOORD_{STAMP}_o",
        [
            {**ORDER_ROW, "ITEM": "TENT-2P", "QTYORD": "2", "PRICE": "249.00"},
            {**ORDER_ROW, "ITEM": "LAMP-LED", "QTYORD": "1", "PRICE": "29.95"},
            {**ORDER_ROW, "PONUM": "WEB-7003", "ITEM": "NO-SUCH-ITEM", "QTYORD": "1", "PRICE": "1.00"},
        ],
        [("1", "WEB-7002", "OK", ""), ("3", "WEB-7003", "ERROR", "UNKNOWN_ITEM")],
    ),
    (
        f"GLTRAN_{STAMP}_j",
        [
            {**JOURNAL_ROW, "GLACNT": "6100", "DEBIT": "12.50", "CREDIT": "0.00"},
            {**JOURNAL_ROW, "GLACNT": "1050", "DEBIT": "0.00", "CREDIT": "12.50"},
            {**JOURNAL_ROW, "REFERENCE": "FEES-8", "GLACNT": "6100", "DEBIT": "1.00", "CREDIT": "0.00"},
            {**JOURNAL_ROW, "REFERENCE": "FEES-8", "GLACNT": "1050", "DEBIT": "0.00", "CREDIT": "2.00"},
        ],
        [("1", "FEES-7", "OK", ""), ("3", "FEES-8", "ERROR", "UNBALANCED")],
    ),
    (
        f"ARPSTAT_{STAMP}_n",
        [
            {**PAYMENT_NOTE, "REFERENCE": "PT-405"},
            {**PAYMENT_NOTE, "REFERENCE": "PT-406", "INVNO": "INV-9999"},
        ],
        [("1", "PT-405", "OK", ""), ("2", "PT-406", "ERROR", "UNKNOWN_INVOICE")],
    ),
]


def test_the_simulators_drop_folder_imports_and_exports_as_the_contract_says(tmp_path):
    sandbox_sagepro_site_ensure(site="DEMO", api_key=API_KEY)
    sandbox_sagepro_seed(site="DEMO")
    sandbox_sagepro_drop_process(folder=tmp_path)  # the first run lays the folder out
    for stem, rows, _ in IMPORT_FILES:
        _csv_write(tmp_path / "in" / f"{stem}.csv", rows)
    sandbox_sagepro_drop_process(folder=tmp_path)
    documents = {}
    for stem, _, expected in IMPORT_FILES:
        columns, results = _csv_read(tmp_path / "out" / f"{stem}.result.csv")
        assert columns == CONTRACT_RESULT_COLUMNS
        assert [(r["ROW"], r["REFERENCE"], r["STATUS"], r["CODE"]) for r in results] == expected, stem
        assert all(r["DOCNO"] for r in results if r["STATUS"] == "OK") and results[-1]["MESSAGE"]
        documents[stem.split("_")[0]] = results[0]["DOCNO"]
        assert (tmp_path / "archive" / f"{stem}.csv").exists()
    assert not list((tmp_path / "in").glob("*.csv"))
    for resource in CONTRACT_RECORDS:
        exported_columns, _ = _csv_read(tmp_path / "export" / f"{resource}.csv")
        assert sorted(exported_columns) == sorted(_columns(resource)), resource
    _, payments = _csv_read(tmp_path / "export" / "payments.csv")
    assert [(r["RCPTNO"], r["APPLINVNO"], r["APPLAMT"]) for r in payments if r["CHECKNO"] == "PT-300"] == [
        (documents["ARCASH"], "INV-5001", "60.00"),
        (documents["ARCASH"], "INV-5002", "40.00"),
    ]
    _, orders = _csv_read(tmp_path / "export" / "orders.csv")
    assert [(r["SONO"], r["ITEM"]) for r in orders] == [
        (documents["SOORD"], "TENT-2P"),
        (documents["SOORD"], "LAMP-LED"),
    ]


# --- (b) the connector reads the contract's answers --------------------------------------------------

CUSTOMER = {
    "CUSTNO": "C1001",
    "COMPANY": "Acme Outdoor Supply",
    "ADDRESS1": "100 Pike St",
    "ADDRESS2": "",
    "CITY": "Seattle",
    "STATE": "WA",
    "ZIP": "98101",
    "COUNTRY": "US",
    "PHONE": "206-555-0101",
    "EMAIL": "ap@acme-outdoor.example",
    "TERMS": "NET 30",
    "CREDITLMT": "5000.00",
    "CURRENCY": "USD",
    "REFERENCE": "C1001",
    "UPDATED": "2026-11-30T08:00:00Z",
}


def _invoice(invno: str, balance: str) -> dict[str, str]:
    return {
        "INVNO": invno,
        "DOCTYPE": "IN",
        "CUSTNO": "C1001",
        "INVDATE": "2026-10-15",
        "DUEDATE": "2026-11-14",
        "INVAMT": "1250.00",
        "BALANCE": balance,
        "CURRENCY": "USD",
        "PONUM": "WEB-1001",
        "REFERENCE": "",
        "GLACCT": "4000",
        "APPLINVNO": "",
        "DESCRIPT": "",
        "UPDATED": "2026-11-30T08:00:00Z",
    }


def _payment(rcptno: str, checkno: str) -> dict[str, Any]:
    return {
        "RCPTNO": rcptno,
        "CUSTNO": "C1001",
        "CHECKNO": checkno,
        "PAYDATE": "2026-11-30",
        "PAYAMT": "100.00",
        "UNAPPLIED": "0.00",
        "CURRENCY": "USD",
        "PAYCODE": "CARD",
        "BANKNO": "OPER",
        "GLACCT": "1050",
        "BATCH": "AR0001",
        "DESCRIPT": "",
        "STATUS": "POSTED",
        "REVERSES": "",
        "APPLS": [{"APPLINVNO": "INV-5001", "APPLAMT": "100.00"}],
        "UPDATED": "2026-11-30T08:00:00Z",
    }


def _json(value: Any, status: int = 200) -> Answer:
    return Answer(json.dumps(value).encode(), status=status)


def _page(results: list[dict[str, Any]], *, page: int = 1, next_url: str | None = None) -> Answer:
    return _json({"count": 2, "page": page, "page_size": 100, "next": next_url, "results": results})


@pytest.fixture
def stub() -> Iterator[ReplayStub]:
    with replay_stub() as served:
        yield served


def _rest(stub: ReplayStub):
    return connector_for(
        ConnectionFactory(system=System.SAGE_PRO, base_url=stub.url, credentials={"api_key": API_KEY})
    )


def test_the_connector_reads_the_contracts_site_customer_and_paged_open_invoices(stub):
    stub.answer(
        "api/site", _json({"SITE": "DEMO", "COMPANY": "Demo Co", "VERSION": "1.0", "TIME": "x"}), method="GET"
    )
    stub.answer("api/customers/C1001", _json(CUSTOMER), method="GET")
    stub.answer(
        "api/customers/NOPE",
        _json({"error": {"code": "NOT_FOUND", "message": "no", "field": "CUSTNO"}}, 404),
        method="GET",
    )

    def invoices(request: Received) -> Answer:
        if request.query.get("page") == "2":
            return _page([_invoice("INV-5002", "310.40")], page=2)
        return _page(
            [_invoice("INV-5001", "1250.00")], next_url=f"{stub.url}/api/invoices?custno=C1001&open=1&page=2"
        )

    stub.answer("api/invoices", invoices, method="GET")
    connector = _rest(stub)
    check = connector.connection_test()
    assert check.ok and "DEMO" in check.message and "Demo Co" in check.message
    customer = connector.customer_get(number="C1001")
    assert (customer.number, customer.name, customer.email, customer.address.postal_code) == (
        "C1001",
        "Acme Outdoor Supply",
        "ap@acme-outdoor.example",
        "98101",
    )
    assert customer.updated_at == datetime.fromisoformat("2026-11-30T08:00:00+00:00")
    assert connector.customer_get(number="NOPE") is None
    opened = connector.invoices_open(customer_number="C1001")
    assert [(i.number, i.balance, i.issued_on) for i in opened] == [
        ("INV-5001", Decimal("1250.00"), date(2026, 10, 15)),
        ("INV-5002", Decimal("310.40"), date(2026, 10, 15)),
    ]
    first = stub.calls("api/invoices")[0]
    assert (first.query["custno"], first.query["open"], first.headers["X-Api-Key"]) == ("C1001", "1", API_KEY)


def _receipt_data(reference: str, *applications: tuple[str, str]) -> ReceiptData:
    return ReceiptData(
        reference=reference,
        customer_number="C1001",
        amount=Decimal("100.00"),
        currency="USD",
        receipt_date=date(2026, 11, 30),
        payment_code="CARD",
        applications=tuple(
            ReceiptApplication(invoice_number=invno, amount=Decimal(applied))
            for invno, applied in applications or (("INV-5001", "100.00"),)
        ),
    )


def test_the_connector_posts_receipts_as_one_array_and_reads_each_row(stub):
    refused = {"code": "UNKNOWN_CUSTOMER", "message": "customer NOPE does not exist", "field": "CUSTNO"}
    stub.answer(
        "api/payments",
        _json(
            {
                "results": [
                    {"row": 1, "status": "ok", "record": _payment("R000001", "PT-1")},
                    {"row": 2, "status": "error", "error": refused},
                ]
            }
        ),
    )
    ok, error = _rest(stub).receipts_post(receipts=[_receipt_data("PT-1"), _receipt_data("PT-2")])
    assert (ok.document.number, ok.document.reference) == ("R000001", "PT-1")
    assert isinstance(error.error, ErpPermanentError) and error.error.code == "UNKNOWN_CUSTOMER"
    assert "CUSTNO: customer NOPE does not exist" in str(error.error)
    (sent,) = stub.calls("api/payments")
    rows = json.loads(sent.body)
    assert [row["CHECKNO"] for row in rows] == ["PT-1", "PT-2"]
    assert set(rows[0]) <= set(_fields("payments")) and rows[0]["PAYAMT"] == "100.00"
    assert rows[0]["APPLS"] == [{"APPLINVNO": "INV-5001", "APPLAMT": "100.00"}]


JOURNAL_ENTRY = JournalEntryData(
    reference="FEES-1",
    entry_date=date(2026, 11, 30),
    description="Card fees",
    currency="USD",
    lines=(
        JournalLine(account="6100", debit=Decimal("12.50")),
        JournalLine(account="1050", credit=Decimal("12.50")),
    ),
)


@pytest.mark.parametrize(
    ("status", "code", "kind", "maybe_applied"),
    [
        (409, "DUPLICATE_REFERENCE", ErpPermanentError, None),
        (422, "UNBALANCED", ErpPermanentError, None),
        (423, "TABLE_LOCKED", ErpTransientError, False),
        (429, "RATE_LIMITED", ErpTransientError, False),
        (503, "SERVICE_UNAVAILABLE", ErpTransientError, False),
        (500, "INTERNAL", ErpTransientError, True),
    ],
)
def test_the_connector_maps_the_contracts_error_statuses(stub, status, code, kind, maybe_applied):
    stub.answer("api/journalentries", _json({"error": {"code": code, "message": "no", "field": ""}}, status))
    with pytest.raises(kind) as raised:
        _rest(stub).journal_entry_post(entry=JOURNAL_ENTRY)
    assert raised.value.code == code
    if maybe_applied is not None:
        assert raised.value.maybe_applied is maybe_applied
    (sent,) = stub.calls("api/journalentries")
    assert sorted(json.loads(sent.body)) == sorted(
        n for n in _fields("journalentries") if n not in {"BATCH", "UPDATED"}
    )


class FakeSageProImport:
    """This test playing Sage Pro's scheduled import from the contract: it takes each ARCASH file the
    connector drops, checks its layout, answers every document OK in out/ and refreshes the export."""

    def __init__(self, root: Path):
        self.root = root
        self.seen: list[tuple[list[str], list[dict[str, str]]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for path in sorted((self.root / "in").glob("ARCASH_*.csv")):
                self._import(path)
            time.sleep(0.05)

    def _import(self, path: Path) -> None:
        columns, rows = _csv_read(path)
        self.seen.append((columns, rows))
        results, exported, first_rows = [], [], {}
        for number, row in enumerate(rows, start=1):
            first_rows.setdefault((row["CUSTNO"], row["CHECKNO"], row["PAYAMT"]), number)
        for index, ((custno, checkno, _), number) in enumerate(first_rows.items(), start=1):
            rcptno = f"R{index:06d}"
            results.append(
                {
                    "ROW": number,
                    "REFERENCE": checkno,
                    "STATUS": "OK",
                    "DOCNO": rcptno,
                    "CODE": "",
                    "MESSAGE": "",
                }
            )
            record = {k: v for k, v in _payment(rcptno, checkno).items() if k != "APPLS"}
            exported.append({**record, "CUSTNO": custno, "APPLINVNO": "INV-5001", "APPLAMT": "100.00"})
        _csv_write(self.root / "export" / "payments.csv", exported)
        _csv_write(self.root / "out" / f"{path.stem}.result.csv", results)
        path.replace(self.root / "archive" / path.name)


@pytest.fixture
def drop(settings, tmp_path) -> Iterator[FakeSageProImport]:
    settings.SAGEPRO_DROP_ROOT = tmp_path
    for name in ("in", "out", "archive", "export"):
        (tmp_path / name).mkdir()
    _csv_write(tmp_path / "export" / "customers.csv", [CUSTOMER])
    _csv_write(
        tmp_path / "export" / "invoices.csv", [_invoice("INV-5001", "1250.00"), _invoice("INV-5009", "0.00")]
    )
    _csv_write(
        tmp_path / "export" / "items.csv",
        [
            {
                "ITEM": "TENT-2P",
                "DESCRIP": "Tent",
                "PRICE": "249.00",
                "LOCTID": "WH1",
                "ONHAND": "40",
                "ALLOC": "2",
            }
        ],
    )
    fake = FakeSageProImport(tmp_path)
    fake.thread.start()
    yield fake
    fake.stop.set()
    fake.thread.join(timeout=5)


def test_the_connector_reads_the_contracts_exports_and_drops_receipts_as_it_says(drop):
    connector = connector_for(
        ConnectionFactory(
            system=System.SAGE_PRO,
            options={"transport": "csv", "drop_folder": str(drop.root), "import_wait_seconds": 5},
        )
    )
    assert connector.customer_get(number="C1001").name == "Acme Outdoor Supply"
    assert [i.number for i in connector.invoices_open(customer_number="C1001")] == ["INV-5001"]
    (stock,) = connector.stock_levels(skus=["TENT-2P"])
    assert (stock.on_hand, stock.allocated) == (Decimal("40"), Decimal("2"))
    receipt = _receipt_data("PT-9", ("INV-5001", "60.00"), ("INV-5002", "40.00"))
    (result,) = connector.receipts_post(receipts=[receipt])
    assert (result.document.number, result.document.reference) == ("R000001", "PT-9")
    ((columns, rows),) = drop.seen
    assert set(columns) <= set(_columns("payments"))
    assert [(r["CHECKNO"], r["PAYAMT"], r["APPLINVNO"], r["APPLAMT"]) for r in rows] == [
        ("PT-9", "100.00", "INV-5001", "60.00"),
        ("PT-9", "100.00", "INV-5002", "40.00"),
    ]
    assert not list((drop.root / "in").glob("*.csv"))
