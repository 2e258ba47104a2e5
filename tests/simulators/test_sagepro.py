"""The Sage Pro simulator on its own: gateway contract (auth, paging, filters, errors, faults), AR and
stock rules, and the drop-folder import/export. The connector's tests drive it over real HTTP."""

import base64
import csv
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from integrations.models import System
from simulators.models import FaultProfile
from simulators.sagepro.drop import sandbox_sagepro_drop_process
from simulators.sagepro.models import (
    SproCustomer,
    SproGlAccount,
    SproInvoice,
    SproItem,
    SproReceipt,
    SproSite,
    SproStock,
)
from simulators.sagepro.services import sandbox_sagepro_seed, sandbox_sagepro_site_ensure

pytestmark = pytest.mark.django_db

API_KEY = "sandbox-key"
API = "/sandbox/sagepro/api"


@pytest.fixture
def site() -> SproSite:
    obj = sandbox_sagepro_site_ensure(site="demo", api_key=API_KEY)
    sandbox_sagepro_seed(site="DEMO")
    return obj


@pytest.fixture
def api(client, site):
    """Calls the gateway with the site's key; returns (status, JSON body parsed with Decimal)."""

    def call(method: str, path: str, body=None, **headers):
        headers.setdefault("HTTP_X_API_KEY", API_KEY)
        data = json.dumps(body) if body is not None else None
        response = getattr(client, method.lower())(
            f"{API}/{path}", data=data, content_type="application/json", **headers
        )
        return response.status_code, json.loads(response.content, parse_float=Decimal), response

    return call


def _receipt(checkno: str, amount: str, *appls: tuple[str, str], custno: str = "C1001") -> dict:
    return {
        "CUSTNO": custno,
        "CHECKNO": checkno,
        "PAYDATE": "2024-05-01",
        "PAYAMT": amount,
        "GLACCT": "1050",
        "APPLS": [{"APPLINVNO": invno, "APPLAMT": value} for invno, value in appls],
    }


def test_site_and_seed_are_idempotent(site):
    sandbox_sagepro_seed(site="DEMO")
    again = sandbox_sagepro_site_ensure(site="DEMO", api_key="rotated")
    assert again.pk == site.pk and again.api_key == "rotated"
    assert (SproCustomer.objects.count(), SproItem.objects.count(), SproInvoice.objects.count()) == (6, 5, 8)
    assert set(SproGlAccount.objects.values_list("glacnt", flat=True)) >= {
        "1000",
        "1050",
        "1200",
        "4100",
        "6900",
    }
    assert SproStock.objects.get(item__item="MUG-TI").onhand == 0


def test_auth_paging_filters_and_error_shape(api):
    status, body, _ = api("GET", "customers", HTTP_X_API_KEY="wrong")
    assert status == 401 and body == {
        "error": {"code": "AUTH_FAILED", "message": body["error"]["message"], "field": ""}
    }
    basic = base64.b64encode(f"demo:{API_KEY}".encode()).decode()
    status, body, _ = api("GET", "site", HTTP_X_API_KEY="", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert status == 200 and body["SITE"] == "DEMO"

    status, page1, _ = api("GET", "invoices?page_size=5")
    assert (status, page1["count"], len(page1["results"]), page1["page"]) == (200, 8, 5, 1)
    assert "page=2" in page1["next"] and "page_size=5" in page1["next"]
    _, page2, _ = api("GET", "invoices?page=2&page_size=5")
    assert len(page2["results"]) == 3 and page2["next"] is None
    assert api("GET", "invoices?page=0")[1]["error"]["code"] == "INVALID_PAGE"
    status, body, _ = api("GET", "invoices?colour=red")
    assert status == 400 and body["error"]["code"] == "UNKNOWN_FILTER" and body["error"]["field"] == "colour"

    assert [c["CUSTNO"] for c in api("GET", "customers?email=AP@ACME-OUTDOOR.example")[1]["results"]] == [
        "C1001"
    ]
    assert [c["CUSTNO"] for c in api("GET", "customers?company=dental")[1]["results"]] == ["C1003"]
    _, open_c1001, _ = api("GET", "invoices?custno=c1001&open=1")
    assert [(i["INVNO"], i["BALANCE"]) for i in open_c1001["results"]] == [
        ("INV-5001", "1250.00"),
        ("INV-5002", "310.40"),
    ]
    assert [i["INVNO"] for i in api("GET", "invoices?ponum=WEB-1005")[1]["results"]] == ["INV-5007"]
    assert api("GET", "customers?updated_since=2999-01-01T00:00:00Z")[1]["count"] == 0
    assert api("GET", "invoices/INV-0000")[0] == 404
    assert api("GET", "widgets")[1]["error"]["code"] == "NOT_FOUND"
    assert api("PUT", "invoices/INV-5001", {"BALANCE": "0"})[0] == 405


def test_customers_create_update_and_validation(api):
    status, created, _ = api("POST", "customers", {"COMPANY": "Harbor Tools", "EMAIL": "ar@harbor.example"})
    assert status == 201 and created["CUSTNO"] == "C2001" and created["CURRENCY"] == "USD"
    status, updated, _ = api("PUT", "customers/c2001", {"PHONE": "555-0199"})
    assert status == 200 and (updated["PHONE"], updated["COMPANY"]) == ("555-0199", "Harbor Tools")
    status, body, _ = api("POST", "customers", {"CUSTNO": "C1001", "COMPANY": "Dup"})
    assert status == 409 and body["error"]["code"] == "DUPLICATE_CUSTNO"
    status, body, _ = api("POST", "customers", {"COMPANY": "", "EMAIL": "x@y.example"})
    assert status == 422 and body["error"] == {
        "code": "REQUIRED",
        "message": "COMPANY is required",
        "field": "COMPANY",
    }
    assert api("POST", "customers", "not json", CONTENT_TYPE="text/plain")[1]["error"]["code"] == "BAD_JSON"


def test_receipts_apply_never_below_zero_and_duplicates_are_409(api):
    status, receipt, _ = api("POST", "payments", _receipt("PT-1", "1300.00", ("INV-5001", "1250.00")))
    assert status == 201 and receipt["UNAPPLIED"] == "50.00" and receipt["RCPTNO"] == "R000001"
    assert SproInvoice.objects.get(invno="INV-5001").balance == 0
    status, body, _ = api("POST", "payments", _receipt("PT-1", "1300.00"))
    assert (
        status == 409
        and body["error"]["code"] == "DUPLICATE_RECEIPT"
        and "R000001" in body["error"]["message"]
    )
    # Same check number, other amount: a different receipt by the duplicate rule.
    assert api("POST", "payments", _receipt("PT-1", "10.00"))[0] == 201
    status, body, _ = api("POST", "payments", _receipt("PT-2", "20.00", ("INV-5001", "0.01")))
    assert status == 422 and body["error"]["code"] == "APPLY_EXCEEDS_BALANCE"
    assert body["error"]["field"] == "APPLS[0].APPLAMT"
    status, body, _ = api(
        "POST", "payments", _receipt("PT-3", "5.00", ("INV-5002", "3.00"), ("INV-5002", "3.00"))
    )
    assert status == 422 and body["error"]["code"] == "OVER_APPLIED"
    assert api("POST", "payments", _receipt("PT-4", "5.00", ("INV-5003", "5.00")))[1]["error"]["code"] == (
        "INVOICE_CUSTOMER_MISMATCH"
    )
    assert SproInvoice.objects.get(invno="INV-5002").balance == Decimal("310.40")  # refusals changed nothing

    status, batch, _ = api(
        "POST",
        "payments",
        [_receipt("PT-5", "10.00", ("INV-5002", "10.00")), _receipt("PT-6", "1.00", custno="NOPE")],
    )
    assert status == 200 and [row["status"] for row in batch["results"]] == ["ok", "error"]
    assert batch["results"][1]["error"]["code"] == "UNKNOWN_CUSTOMER"

    reverse = {**_receipt("PT-7", "1300.00"), "REVERSES": "R000001"}
    status, reversal, _ = api("POST", "payments", reverse)
    assert status == 201 and reversal["STATUS"] == "REVERSAL" and reversal["PAYAMT"] == "-1300.00"
    assert SproInvoice.objects.get(invno="INV-5001").balance == Decimal("1250.00")
    assert api("POST", "payments", {**reverse, "CHECKNO": "PT-8"})[1]["error"]["code"] == "ALREADY_REVERSED"
    assert api("GET", "payments?reference=PT-7")[1]["results"][0]["REVERSES"] == "R000001"


def test_orders_allocate_stock_and_journals_must_balance(api):
    order = {
        "CUSTNO": "C1002",
        "ORDDATE": "2024-05-01",
        "PONUM": "WEB-9",
        "LINES": [
            {"ITEM": "stove-1", "QTYORD": "150"},
            {"ITEM": "LAMP-LED", "QTYORD": "2", "PRICE": "25.00"},
        ],
    }
    status, created, _ = api("POST", "orders", order)
    assert status == 201 and created["STATUS"] == "BACKORDER"
    stove, lamp = created["LINES"]
    assert (stove["QTYALLOC"], stove["QTYBACK"], stove["PRICE"]) == ("120", "30", "64.99")
    assert (lamp["QTYALLOC"], lamp["PRICE"]) == ("2", "25.00")
    _, stock, _ = api("GET", "items?item=STOVE-1,LAMP-LED")
    assert [(s["ITEM"], s["ONHAND"], s["ALLOC"]) for s in stock["results"]] == [
        ("LAMP-LED", "300", "2"),
        ("STOVE-1", "120", "120"),
    ]
    assert api("POST", "orders", order)[1]["error"]["code"] == "DUPLICATE_PONUM"
    bad = {**order, "PONUM": "WEB-10", "LINES": [{"ITEM": "GHOST", "QTYORD": "1"}]}
    assert api("POST", "orders", bad)[1]["error"]["field"] == "LINES[0].ITEM"

    entry = {"TRANDATE": "2024-05-02", "REFERENCE": "B-1", "LINES": [{"GLACNT": "1000", "DEBIT": "10.00"}]}
    assert api("POST", "journalentries", entry)[1]["error"]["code"] == "REQUIRED"
    entry["LINES"].append({"GLACNT": "1050", "CREDIT": "9.99"})
    assert api("POST", "journalentries", entry)[1]["error"]["code"] == "UNBALANCED"
    entry["LINES"][1]["CREDIT"] = "10.00"
    status, batch, _ = api("POST", "journalentries", entry)
    assert status == 201 and batch["BATCH"] == "GL000001"
    assert api("POST", "journalentries", entry)[0] == 409


def test_faults_answer_503_or_423_in_the_gateway_shape(api, site):
    FaultProfile.objects.create(system=System.SAGE_PRO, account="DEMO", error_next=1)
    status, body, response = api("GET", "customers")
    assert status == 503 and body["error"]["code"] == "SERVICE_UNAVAILABLE" and response["Retry-After"] == "1"
    assert api("GET", "customers")[0] == 200
    SproSite.objects.filter(pk=site.pk).update(fault_status=423)
    FaultProfile.objects.update(error_next=1)
    status, body, _ = api("POST", "payments", _receipt("PT-L", "1.00"))
    assert status == 423 and body["error"]["code"] == "TABLE_LOCKED"
    assert not SproReceipt.objects.exists()


def _write(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_drop_folder_import_results_and_exports(site, tmp_path):
    cash = {"CUSTNO": "C1001", "PAYDATE": "2024-05-01", "GLACCT": "1050", "BATCH": "B7"}
    (tmp_path / "in").mkdir()
    _write(
        tmp_path / "in" / "ARCASH_0001.csv",
        [
            {**cash, "CHECKNO": "PT-1", "PAYAMT": "1400.00", "APPLINVNO": "INV-5001", "APPLAMT": "1250.00"},
            {**cash, "CHECKNO": "PT-1", "PAYAMT": "1400.00", "APPLINVNO": "INV-5002", "APPLAMT": "100.00"},
            {**cash, "CHECKNO": "PT-2", "PAYAMT": "5.00", "APPLINVNO": "INV-9999", "APPLAMT": "5.00"},
            {**cash, "CHECKNO": "PT-3", "PAYAMT": "7.00", "APPLINVNO": "", "APPLAMT": ""},
        ],
    )
    _write(
        tmp_path / "in" / "CUSTOMER_0002.csv", [{"CUSTNO": "C1001", "PHONE": "555-0000", "COMPANY": "Acme"}]
    )
    call_command("sandbox_sagepro_import", folder=str(tmp_path), site="demo")

    results = _read(tmp_path / "out" / "ARCASH_0001.result.csv")
    assert [(r["ROW"], r["REFERENCE"], r["STATUS"], r["CODE"]) for r in results] == [
        ("1", "PT-1", "OK", ""),
        ("3", "PT-2", "ERROR", "UNKNOWN_INVOICE"),
        ("4", "PT-3", "OK", ""),
    ]
    assert results[1]["MESSAGE"].startswith("APPLS[0].APPLINVNO: invoice INV-9999")
    assert SproReceipt.objects.get(checkno="PT-1").unapplied == Decimal("50.00")
    assert SproCustomer.objects.get(custno="C1001").phone == "555-0000"
    assert sorted(p.name for p in (tmp_path / "archive").iterdir()) == [
        "ARCASH_0001.csv",
        "CUSTOMER_0002.csv",
    ]
    assert not list((tmp_path / "in").iterdir())

    payments = _read(tmp_path / "export" / "payments.csv")
    assert [(p["CHECKNO"], p["APPLINVNO"]) for p in payments] == [
        ("PT-1", "INV-5001"),
        ("PT-1", "INV-5002"),
        ("PT-3", ""),
    ]
    invoices = {i["INVNO"]: i for i in _read(tmp_path / "export" / "invoices.csv")}
    assert (invoices["INV-5001"]["BALANCE"], invoices["INV-5002"]["BALANCE"]) == ("0.00", "210.40")
    exported = {p.name for p in (tmp_path / "export").iterdir()}
    assert exported == {
        f"{n}.csv"
        for n in ("customers", "invoices", "payments", "orders", "journalentries", "paymentnotes", "items")
    }

    _write(tmp_path / "in" / "ARCASH_0003.csv", [{**cash, "CHECKNO": "PT-3", "PAYAMT": "7.00"}])
    [again] = sandbox_sagepro_drop_process(folder=tmp_path, site="DEMO")
    assert _read(again)[0]["CODE"] == "DUPLICATE_RECEIPT"


def test_payment_notes_set_the_invoices_paystatus_once_per_reference(api):
    note = {"CUSTNO": "C1001", "INVNO": "INV-5001", "PAYSTATUS": "Payment Failed", "REFERENCE": "PT-9"}
    status, record, _ = api("POST", "paymentnotes", note)
    assert status == 201 and (record["INVNO"], record["PAYSTATUS"]) == ("INV-5001", "Payment Failed")
    assert api("GET", "invoices/INV-5001")[1]["PAYSTATUS"] == "Payment Failed"
    found = api("GET", "paymentnotes?reference=PT-9")[1]["results"]
    assert [r["NOTENO"] for r in found] == [record["NOTENO"]]

    status, body, _ = api("POST", "paymentnotes", note)
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        409,
        "DUPLICATE_REFERENCE",
        "REFERENCE",
    )
    refusals = [
        ({**note, "REFERENCE": "PT-10", "INVNO": "INV-5004"}, "INVOICE_CUSTOMER_MISMATCH"),
        ({**note, "REFERENCE": "PT-11", "INVNO": "", "SONO": "SO-NOPE"}, "UNKNOWN_ORDER"),
        ({**note, "REFERENCE": "PT-12", "PAYSTATUS": ""}, "REQUIRED"),
    ]
    for body_in, code in refusals:
        status, body, _ = api("POST", "paymentnotes", body_in)
        assert (status, body["error"]["code"]) == (422, code), body
    assert api("GET", "paymentnotes")[1]["count"] == 1
