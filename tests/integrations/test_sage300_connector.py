"""Sage300Connector end to end against the Sage 300 simulator over real HTTP."""

import json
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
import requests
from django.utils import timezone

from integrations.models import System
from integrations.sage.base import (
    CreditMemoData,
    CustomerData,
    ErpPermanentError,
    ErpTransientError,
    JournalEntryData,
    JournalLine,
    ReversalData,
    SalesOrderData,
    SalesOrderLine,
)
from integrations.sage.registry import connector_for
from integrations.sage.sage300 import Sage300Connector
from integrations.sage.sage300.client import ERRORS
from simulators.sage300.models import Company, Customer, ItemLocation
from simulators.sage300.services import sandbox_sage300_company_ensure, sandbox_sage300_seed
from tests.factories import ConnectionFactory
from tests.integrations.connectors.base import ConnectorSuite, ErpFacts, SandboxFaults, receipt, reversal
from tests.simulators.test_sage300 import COMPANY, PASSWORD, SAGE300_DB

pytestmark = SAGE300_DB

TODAY = timezone.now().date()
FAULTS = SandboxFaults(system=System.SAGE_300, account=COMPANY)
FACTS = ErpFacts(
    secret=PASSWORD,
    journal_accounts=("1000", "6100", "1020"),
    unknown_account="9999",
    refund_account="4100",
    invoice_account="4000",
    writes_per_receipt_batch=2,  # enter the CA batch, then post it
    publishes_stock=False,
)
_receipt = partial(receipt, FACTS)


@pytest.fixture
def make_erp(sandbox_base):
    sandbox_sage300_company_ensure(company=COMPANY, password=PASSWORD)
    sandbox_sage300_seed(company=COMPANY)

    def make(**options) -> Sage300Connector:
        connection = ConnectionFactory(
            system=System.SAGE_300,
            base_url=f"{sandbox_base}/sage300/Sage300WebApi/v1.0",
            credentials={"username": "ADMIN", "password": options.pop("password", PASSWORD)},
            options={
                "company": "samltd",
                "bank_code": "PAYTRACE",
                "location": "WH1",
                "timeout": 5,
                **options,
            },
        )
        return connector_for(connection)

    return make


@pytest.fixture
def erp(make_erp) -> Sage300Connector:
    return make_erp()


class TestSage300Connector(ConnectorSuite):
    """The shared connector suite against the Sage 300 simulator."""

    erp_facts, erp_faults = FACTS, FAULTS


def _balances(erp, customer):
    return {invoice.number: invoice.balance for invoice in erp.invoices_open(customer_number=customer)}


def test_registry_builds_a_complete_connector(erp, make_erp):
    assert isinstance(erp, Sage300Connector)
    assert erp.system == "sage_300"
    assert erp.receipt_batch_size == 20
    check = erp.connection_test()
    assert check.ok, check.message
    assert "6 customers" in check.message
    refused = make_erp(password="wrong").connection_test()
    assert not refused.ok
    assert "Unauthorized" in refused.message


def test_customer_upsert_creates_then_updates(erp):
    data = CustomerData(
        name="Gamma Labs", email="ap@gamma.example", phone="206-555-0199", reference="ptc-777"
    )
    created = erp.customer_upsert(customer=data)
    assert created.number == "PTC-777"
    assert created.email == "ap@gamma.example"
    updated = erp.customer_upsert(customer=CustomerData(name="Gamma Labs Inc", email="", reference="ptc-777"))
    assert updated.number == "PTC-777"
    assert updated.name == "Gamma Labs Inc"
    assert updated.email == "ap@gamma.example"  # a blank on our side never wipes Sage's value
    assert erp.customer_get(number="PTC-777").name == "Gamma Labs Inc"
    existing = erp.customer_upsert(
        customer=CustomerData(number="C1001", name="Acme Outdoor Supply", phone="1")
    )
    assert existing.phone == "1"
    assert existing.address.city == "Seattle"
    assert erp.document_find(document_type="customer", reference="ptc-777").number == "PTC-777"


def test_customer_lookups_ignore_case(erp):
    by_email = erp.customer_find_by_email(email="AP@Acme-Outdoor.EXAMPLE")
    assert [customer.number for customer in by_email] == ["C1001"]
    by_name = erp.customer_find_by_name(name="  birch & MAPLE cafe ")
    assert [customer.number for customer in by_name] == ["C1002"]
    assert erp.customer_find_by_name(name="Birch") == []
    assert erp.customer_find_by_email(email="") == []
    since = timezone.now() - timedelta(days=1)
    assert len(list(erp.customers_changed(since=since))) == 6
    assert list(erp.customers_changed(since=timezone.now() + timedelta(days=2))) == []


def _order(reference, customer="C1002", *lines):
    return SalesOrderData(
        reference=reference,
        customer_number=customer,
        currency="USD",
        order_date=TODAY,
        lines=tuple(SalesOrderLine(sku, Decimal(quantity), Decimal(price)) for sku, quantity, price in lines),
    )


def test_sales_order_commits_stock(erp):
    document = erp.sales_order_create(order=_order("WEB-2001", "C1002", ("TENT-2P", "2", "239.00")))
    assert document.number.startswith("ORD")
    assert document.raw["OrderDetails"][0]["OrderUnitPrice"] == Decimal("239.00")
    # Sage's Web API publishes no stock quantities, so the commitment is read from the simulator's ledger,
    # and stock_levels tells which items Sage knows (IC/ICItems).
    tent = ItemLocation.objects.get(item__number="TENT-2P", location="WH1")
    assert (tent.on_hand, tent.committed) == (Decimal("40"), Decimal("2"))
    bag = ItemLocation.objects.get(item__number="BAG-20F", location="WH1")
    assert bag.on_hand - bag.committed == Decimal("75")
    levels = erp.stock_levels(skus=["TENT-2P", "BAG-20F", "NOPE"])
    assert sorted((level.sku, level.location) for level in levels) == [("BAG-20F", "WH1"), ("TENT-2P", "WH1")]
    assert erp.document_find(document_type="sales_order", reference="WEB-2001").number == document.number
    assert erp.document_find(document_type="sales_order", reference="WEB-NONE") is None


def test_sales_order_short_stock_and_unknown_item(erp, make_erp):
    no_location = make_erp(location="")  # Sage fills in the item's location
    backordered = no_location.sales_order_create(order=_order("WEB-2002", "C1002", ("MUG-TI", "3", "19.00")))
    line = backordered.raw["OrderDetails"][0]
    assert (line["Location"], line["QuantityCommitted"], line["QuantityBackordered"]) == (
        "WH1",
        0,
        Decimal("3"),
    )
    Customer.objects.filter(number="C1004").update(allow_backorders=False)
    with pytest.raises(ErpPermanentError) as short:
        erp.sales_order_create(order=_order("WEB-2003", "C1004", ("MUG-TI", "1", "19.00")))
    assert short.value.code == "FieldInvalid"
    with pytest.raises(ErpPermanentError) as unknown:
        erp.sales_order_create(order=_order("WEB-2004", "C1002", ("NOPE", "1", "1.00")))
    assert (unknown.value.code, unknown.value.http_status) == ("FieldInvalid", 409)
    assert unknown.value.message == 'Item "NOPE" does not exist.'


def test_receipts_go_in_one_batch_and_post(erp):
    erp.transcript_take()
    results = erp.receipts_post(
        receipts=[
            _receipt("PT-9001", "C1001", "1300.00", ("INV-5001", "1250.00")),  # 50.00 left on account
            _receipt("PT-9002", "C1003", "100.00", ("INV-5005", "100.00")),
            _receipt("PT-9003", "C1005", "20.00"),  # nothing to apply: all on account
        ]
    )
    assert [result.error for result in results] == [None, None, None]
    assert [result.document.number for result in results] == ["CA1-1", "CA1-2", "CA1-3"]
    calls = erp.transcript_take()
    assert [(call["method"], call["url"].rsplit("/", 1)[-1]) for call in calls] == [
        ("POST", "ARReceiptAndAdjustmentBatches"),
        ("POST", "ARPostReceiptsAndAdjustments('$process')"),
    ]
    entry = calls[0]["request"]["ReceiptsAdjustments"][0]
    assert entry["CheckReceiptNumber"] == entry["EntryReference"] == "PT-9001"
    assert _balances(erp, "C1001") == {"INV-5002": Decimal("310.40")}
    assert _balances(erp, "C1003") == {"INV-5004": Decimal("4200.00"), "INV-5005": Decimal("50.00")}
    assert erp.customer_get(number="C1005").raw["BalanceDueInCustomerCurrency"] == Decimal("25.00")
    assert erp.document_find(document_type="receipt", reference="PT-9001").number == "CA1-1"


def test_batches_are_split_by_size(make_erp):
    erp = make_erp(receipt_batch_size=2)
    results = erp.receipts_post(receipts=[_receipt(f"PT-93{n}", "C1005", "1.00") for n in range(5)])
    assert [result.document.number for result in results] == ["CA1-1", "CA1-2", "CA2-1", "CA2-2", "CA3-1"]


def test_one_bad_receipt_does_not_sink_the_batch(erp):
    results = erp.receipts_post(
        receipts=[
            _receipt("PT-9101", "C1001", "10.00", ("INV-5002", "10.00")),
            receipt(
                FACTS, "PT-9102", "C1004", "10.00", ("INV-0000", "10.00")
            ),  # named in the error: isolated
            _receipt("PT-9103", "C1003", "10.00", ("INV-5005", "10.00")),
        ]
    )
    assert results[0].document and results[2].document
    assert results[1].error.code == "FieldInvalid"
    assert "INV-0000" in results[1].error.message
    assert results[0].document.number == results[2].document.number.replace("-2", "-1")  # same batch
    unnamed = erp.receipts_post(
        receipts=[_receipt("PT-9201", "C1005", "0.00"), _receipt("PT-9202", "C1005", "5.00")]
    )  # the zero amount error names no entry: they go one by one
    assert isinstance(unnamed[0].error, ErpPermanentError)
    assert unnamed[1].document is not None
    assert _balances(erp, "C1001")["INV-5002"] == Decimal("300.40")


def test_receipt_reversal_reopens_the_invoice(erp):
    [posted] = erp.receipts_post(receipts=[_receipt("PT-9301", "C1004", "800.25", ("INV-5006", "780.25"))])
    assert "INV-5006" not in _balances(erp, "C1004")
    undo = reversal("PT-9301-V", posted, customer="C1004", amount="800.25")  # 20.00 was on account
    document = erp.receipt_reverse(reversal=undo)
    assert document.number.startswith("AD")
    assert _balances(erp, "C1004") == {"INV-5006": Decimal("780.25")}
    assert erp.customer_get(number="C1004").raw["BalanceDueInCustomerCurrency"] == Decimal("780.25")
    with pytest.raises(ErpPermanentError):
        erp.receipt_reverse(reversal=ReversalData(**{**undo.__dict__, "original_document_number": "CA99-1"}))


def test_credit_memos_post_as_credit_notes(erp):
    applied = CreditMemoData(
        reference="PT-9401", customer_number="C1001", amount=Decimal("10.00"), currency="USD",
        document_date=TODAY, original_reference="PT-9001", invoice_number="INV-5002", account="4100",
    )  # fmt: skip
    document = erp.credit_memo_post(memo=applied)
    assert document.number == "PT-9401"
    assert _balances(erp, "C1001")["INV-5002"] == Decimal("300.40")
    on_account = erp.credit_memo_post(
        memo=CreditMemoData(**{**applied.__dict__, "reference": "PT-9402", "invoice_number": ""})
    )
    assert erp.document_find(document_type="credit_memo", reference="PT-9402").number == on_account.number
    assert erp.customer_get(number="C1001").raw["BalanceDueInCustomerCurrency"] == Decimal("1540.40")
    with pytest.raises(ErpPermanentError) as duplicate:
        erp.credit_memo_post(memo=applied)
    assert duplicate.value.code == "FieldInvalid"


def test_journal_entries(erp):
    entry = JournalEntryData(
        reference="SETTLE-77",
        entry_date=TODAY,
        currency="USD",
        description="Settlement 77",
        lines=(
            JournalLine("1000", debit=Decimal("97.10")),
            JournalLine("6100", debit=Decimal("2.90")),
            JournalLine("1020", credit=Decimal("100.00")),
        ),
    )
    document = erp.journal_entry_post(entry=entry)
    assert document.number == "000001"
    amounts = [detail["Amount"] for detail in document.raw["JournalHeaders"][0]["JournalDetails"]]
    assert amounts == [Decimal("97.10"), Decimal("2.90"), Decimal("-100.00")]
    unbalanced = JournalEntryData(**{**entry.__dict__, "lines": entry.lines[:2]})
    with pytest.raises(ErpPermanentError, match="out of balance"):
        erp.journal_entry_post(entry=unbalanced)
    unknown = JournalEntryData(
        **{
            **entry.__dict__,
            "lines": (JournalLine("9999", debit=Decimal("1")), JournalLine("1000", credit=Decimal("1"))),
        }
    )
    with pytest.raises(ErpPermanentError, match='Account "9999" does not exist'):
        erp.journal_entry_post(entry=unknown)
    too_old = JournalEntryData(**{**entry.__dict__, "entry_date": TODAY.replace(year=TODAY.year - 10)})
    with pytest.raises(ErpPermanentError, match="fiscal") as fiscal:
        erp.journal_entry_post(entry=too_old)
    assert fiscal.value.code == "FieldInvalid"


@pytest.mark.parametrize("legacy", [False, True])
def test_paging_follows_both_next_link_forms(erp, legacy):
    company = Company.objects.get(code=COMPANY)
    Company.objects.filter(pk=company.pk).update(legacy_odata=legacy)
    Customer.objects.bulk_create(
        Customer(company=company, number=f"P{n:04d}", name=f"Paging {n}", date_last_maintained=TODAY)
        for n in range(150)
    )
    erp.transcript_take()
    assert len(list(erp.customers_changed(since=None))) == 156
    assert len(erp.transcript_take()) == 2
    assert "156 customers" in erp.connection_test().message  # odata.count is a string on legacy servers


def test_too_many_requests_is_transient_and_an_unknown_customer_permanent(erp):
    Company.objects.filter(code=COMPANY).update(fault_status=429)
    FAULTS.inject(error_next=1)
    with pytest.raises(ErpTransientError) as busy:
        erp.sales_order_create(order=_order("WEB-3001", "C1002", ("TENT-2P", "1", "1.00")))
    assert busy.value.code == "TooManyRequests"
    with pytest.raises(ErpPermanentError) as invalid:
        erp.sales_order_create(order=_order("WEB-3001", "ZZZ", ("TENT-2P", "1", "1.00")))
    assert (invalid.value.code, invalid.value.message) == (
        "FieldInvalid",
        'Customer number "ZZZ" does not exist.',
    )
    assert erp.document_find(document_type="sales_order", reference="WEB-3001") is None


def test_timeout_is_transient_and_maybe_applied(make_erp):
    erp = make_erp(timeout=0.5)
    FAULTS.inject(timeout_next=1, hang_seconds=1.0)
    with pytest.raises(ErpTransientError) as timeout:
        erp.customer_get(number="C1001")
    assert timeout.value.maybe_applied
    assert timeout.value.code == "TransportError"
    assert erp.transcript_take()[-1]["error"].startswith("read timeout")


def test_applied_but_timed_out_is_found_before_a_retry(make_erp):
    erp = make_erp(timeout=0.5)
    FAULTS.inject(applied_timeout_next=1, hang_seconds=1.0)
    with pytest.raises(ErpTransientError) as order_timeout:
        erp.sales_order_create(order=_order("WEB-4001", "C1002", ("LAMP-LED", "4", "29.95")))
    assert order_timeout.value.maybe_applied
    assert erp.document_find(document_type="sales_order", reference="WEB-4001") is not None

    FAULTS.inject(applied_timeout_next=1)  # the batch is entered, the answer is lost, `$process` never sent
    [result] = erp.receipts_post(receipts=[_receipt("PT-9501", "C1002", "89.99", ("INV-5003", "89.99"))])
    assert isinstance(result.error, ErpTransientError) and result.error.maybe_applied
    assert "INV-5003" in _balances(erp, "C1002")  # entered, not posted yet
    found = erp.document_find(document_type="receipt", reference="PT-9501")
    assert found.number == "CA1-1"
    assert _balances(erp, "C1002") == {}  # finding it finished the posting, once
    assert erp.document_find(document_type="receipt", reference="PT-9501").number == "CA1-1"


def _response(status, body, content_type="application/json; charset=utf-8"):
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    return response


def _sage(code, value):
    return json.dumps({"error": {"code": code, "message": {"lang": "en-US", "value": value}}})


P, T = ErpPermanentError, ErpTransientError
ERROR_SHAPES = [
    # status, body, content type, write, expected class, code, message, maybe_applied
    (409, _sage("FieldInvalid", "Bad item."), "", True, P, "FieldInvalid", "Bad item.", False),
    (
        409,
        '{"error":{"code":"RecordDuplicate","message":"Exists."}}',
        "",
        True,
        P,
        "RecordDuplicate",
        "Exists.",
        False,
    ),
    (500, '{"Message":"An error has occurred."}', "", False, T, "", "An error has occurred.", False),
    (500, _sage("RecordInvalid", "Out of balance."), "", True, P, "RecordInvalid", "Out of balance.", False),
    (503, "The service is unavailable.", "text/plain", True, T, "", "The service is unavailable.", False),
    (502, "<html>Bad Gateway</html>", "text/html", True, T, "", "<html>Bad Gateway</html>", True),
    (409, _sage("SessionError", "Session expired."), "", False, T, "SessionError", "Session expired.", False),
    (500, _sage("DBLinkError", "No database."), "", True, T, "DBLinkError", "No database.", False),
    (429, _sage("TooManyRequests", "Busy."), "", True, T, "TooManyRequests", "Busy.", False),
    (400, _sage("InvalidPayload", "Bad JSON."), "", True, P, "InvalidPayload", "Bad JSON.", False),
    (404, _sage("RecordNotFound", "No batch."), "", True, P, "RecordNotFound", "No batch.", False),
    (401, "", "text/plain", False, P, "", "HTTP 401", False),
]


def test_error_shapes_map_to_typed_errors():
    for status, body, content_type, write, kind, code, message, maybe_applied in ERROR_SHAPES:
        error = ERRORS.from_response(_response(status, body, content_type or "application/json"), write=write)
        assert type(error) is kind, (status, body)
        assert (error.code, error.message, error.http_status) == (code, message, status)
        assert getattr(error, "maybe_applied", False) is maybe_applied, (status, body)
