"""The Sage X3 connector end to end against the X3 sandbox over real HTTP."""

import threading
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial

import pytest
from django.db import connection as db_connection, transaction

from integrations.models import Connection, System
from integrations.sage.base import (
    Address,
    CreditMemoData,
    CustomerData,
    ErpPermanentError,
    ErpTransientError,
    JournalEntryData,
    JournalLine,
    SalesOrderData,
    SalesOrderLine,
)
from integrations.sage.registry import connector_for
from integrations.sage.x3 import X3Connector
from simulators.x3.models import X3Invoice, X3Payment, X3Stock
from simulators.x3.services import sandbox_x3_folder_ensure, sandbox_x3_seed
from tests.factories import ConnectionFactory
from tests.integrations.connectors.base import ConnectorSuite, ErpFacts, SandboxFaults, receipt, reversal

# Flush only the apps these tests write to between live-server tests: it keeps the file fast.
pytestmark = pytest.mark.django_db(
    transaction=True,
    available_apps=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "integrations",
        "customers",
        "payments",
        "simulators",
        "simulators.x3",
    ],
)

FOLDER = POOL = "SEED"
TODAY = date(2026, 11, 20)
FAULTS = SandboxFaults(system=System.SAGE_X3, account=POOL)
FACTS = ErpFacts(
    secret="x3-secret",
    journal_accounts=("512000", "627000", "511000"),
    unknown_account="999999",
    invoice_defaults={"ITMREF": "SERVICE"},
)
_receipt = partial(receipt, FACTS)


@pytest.fixture
def x3_url(sandbox_base) -> str:
    sandbox_x3_folder_ensure(folder=FOLDER, pool_alias=POOL, username="WSUSER", password="x3-secret")
    sandbox_x3_seed(folder=FOLDER)
    return f"{sandbox_base}/x3"


def _connection(x3_url: str, **options):
    return ConnectionFactory(
        system=System.SAGE_X3,
        base_url=x3_url,
        credentials={"username": "WSUSER", "password": "x3-secret"},
        options={
            "folder": FOLDER,
            "pool_alias": POOL,
            "language": "ENG",
            "site": "WH1",
            "timeout": 5,
            **options,
        },
    )


@pytest.fixture
def x3(x3_url) -> X3Connector:
    return connector_for(_connection(x3_url))


@pytest.fixture
def make_erp(x3_url):
    return lambda **options: connector_for(_connection(x3_url, **options))


class TestX3Connector(ConnectorSuite):
    """The shared connector suite against the X3 simulator."""

    erp_facts, erp_faults = FACTS, FAULTS

    @pytest.fixture
    def erp(self, x3) -> X3Connector:
        return x3


def test_connection_test_checks_both_surfaces(x3):
    assert x3.system == "sage_x3"
    assert x3.receipt_batch_size == 20
    check = x3.connection_test()
    assert check.ok, check.message
    assert [c["method"] for c in x3.transcript_take()] == ["GET", "POST"]


def test_connection_test_reports_bad_credentials(x3_url):
    x3 = X3Connector.from_connection(_connection(x3_url, timeout=5))
    x3.client.transport.auth = ("WSUSER", "wrong")
    check = x3.connection_test()
    assert not check.ok
    assert "401" in check.message


def test_x3_numbers_a_new_customer_and_stamps_its_changes(x3):
    created = x3.customer_upsert(
        customer=CustomerData(
            name="Glacier Gear Co",
            email="ap@glacier.example",
            phone="206-555-0199",
            address=Address(
                line1="1 Lake Way", city="Seattle", state="WA", postal_code="98109", country="US"
            ),
        )
    )
    assert created.number.startswith("C")
    by_email = x3.customer_find_by_email(email="ap@glacier.example")
    assert by_email[0].updated_at is not None and by_email[0].updated_at.tzinfo is not None
    assert x3.customer_get(number="C1001").email == "ap@acme-outdoor.example"
    assert x3.document_find(document_type="customer", reference=created.number).number == created.number


def test_customer_save_refusals_are_permanent_with_x3_message(x3):
    with pytest.raises(ErpPermanentError, match="BPRNAM : Mandatory field"):
        x3.customer_upsert(customer=CustomerData(name=""))
    # A number that exists is modified, not refused; an unknown number is created with it.
    made = x3.customer_upsert(customer=CustomerData(number="C7777", name="Numbered Customer"))
    assert made.number == "C7777"


def test_open_invoices_page_across_api1_pages(x3_url):
    x3 = X3Connector.from_connection(_connection(x3_url, page_size=1))
    invoices = x3.invoices_open(customer_number="C1001")
    assert [i.number for i in invoices] == ["INV-5001", "INV-5002"]  # oldest first
    assert invoices[0].balance == Decimal("1250.00") and isinstance(invoices[0].balance, Decimal)
    urls = [c["url"] for c in x3.transcript_take()]
    assert len(urls) == 2 and "startIndex=2" in urls[1] and "'C1001'" in urls[0]


def test_sales_order_allocates_stock_and_reports_shortage(x3):
    order = SalesOrderData(
        reference="WEB-2001",
        customer_number="C1001",
        currency="USD",
        order_date=TODAY,
        lines=(
            SalesOrderLine(sku="TENT-2P", quantity=Decimal("3"), unit_price=Decimal("249.00")),
            SalesOrderLine(sku="MUG-TI", quantity=Decimal("2"), unit_price=Decimal("19.00")),
        ),
    )
    document = x3.sales_order_create(order=order)
    assert document.number.startswith("SONWH1")
    assert document.reference == "WEB-2001"
    assert any("Shortage" in m["message"] and m["type"] == 2 for m in document.raw["messages"])
    assert [line["ALLQTY"] for line in document.raw["lines"]] == ["3.000", "0.000"]

    levels = {level.sku: level for level in x3.stock_levels(skus=["TENT-2P", "MUG-TI"])}
    assert levels["TENT-2P"].allocated == Decimal("3") and levels["TENT-2P"].available == Decimal("37")
    assert levels["MUG-TI"].on_hand == 0 and levels["MUG-TI"].location == "WH1"

    found = x3.document_find(document_type="sales_order", reference="WEB-2001")
    assert found.number == document.number
    with pytest.raises(ErpPermanentError, match="already used on order"):
        x3.sales_order_create(order=order)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"customer_number": "C9999"}, "Customer C9999 : Record does not exist"),
        (
            {"lines": (SalesOrderLine(sku="NOPE", quantity=Decimal("1"), unit_price=Decimal("1")),)},
            "Item NOPE",
        ),
        ({"defaults": {"SALFCY": ""}}, "SALFCY : Mandatory field"),
    ],
)
def test_sales_order_refusals_are_permanent(x3, change, message):
    values = {
        "reference": "WEB-BAD",
        "customer_number": "C1001",
        "currency": "USD",
        "order_date": TODAY,
        "lines": (SalesOrderLine(sku="LAMP-LED", quantity=Decimal("1"), unit_price=Decimal("29.95")),),
        **change,
    }
    with pytest.raises(ErpPermanentError, match=message) as caught:
        x3.sales_order_create(order=SalesOrderData(**values))
    assert caught.value.code == "status0" and caught.value.http_status is None
    assert X3Stock.objects.get(item__itmref="LAMP-LED").cumallqty == 0  # nothing half-applied


def test_batched_receipts_one_call_remainder_on_account_and_one_bad_record(x3):
    receipts = [
        _receipt("PT-1", "C1001", "1300.00", ("INV-5001", "1250.00")),  # 50.00 on account
        _receipt("PT-2", "C1003", "500.00", ("INV-5005", "500.00")),  # over-application: refused
        replace(_receipt("PT-3", "C1003", "4200.00", ("INV-5004", "4200.00")), payment_code="ACH"),
        _receipt("PT-4", "C9999", "10.00"),  # unknown customer: refused
    ]
    results = x3.receipts_post(receipts=receipts)
    assert len(x3.transcript_take()) == 1  # one AOWSIMPORT call for the whole batch
    assert [r.reference for r in results] == ["PT-1", "PT-2", "PT-3", "PT-4"]
    assert results[0].document.number.startswith("PAY") and results[2].document is not None
    assert isinstance(results[1].error, ErpPermanentError) and "INV-5005" in results[1].error.message
    assert isinstance(results[3].error, ErpPermanentError) and "C9999" in results[3].error.message

    assert X3Invoice.objects.get(num="INV-5001").paycur == Decimal("1250.00")
    assert X3Invoice.objects.get(num="INV-5005").paycur == 0
    assert [i.number for i in x3.invoices_open(customer_number="C1003")] == ["INV-5005"]
    on_account = X3Payment.objects.get(ref="PT-1").lines.filter(invoice=None).get()
    assert on_account.amtlin == Decimal("50.00")
    assert x3.document_find(document_type="receipt", reference="PT-3").number == results[2].document.number
    assert x3.document_find(document_type="receipt", reference="PT-2") is None


def test_partial_payment_leaves_invoice_open_then_reversal_restores_it(x3):
    (posted,) = x3.receipts_post(receipts=[_receipt("PT-10", "C1002", "40.00", ("INV-5003", "40.00"))])
    assert x3.invoice_get(number="INV-5003").balance == Decimal("49.99")
    x3.receipt_reverse(reversal=reversal("PT-10-VOID", posted, customer="C1002", amount="40.00"))
    assert x3.invoice_get(number="INV-5003").balance == Decimal("89.99")
    with pytest.raises(ErpPermanentError, match="Already cancelled"):
        x3.receipt_reverse(reversal=reversal("PT-10-VOID2", posted, customer="C1002", amount="40.00"))


def test_credit_memo_and_journal_entry_via_gacc_import(x3):
    memo = x3.credit_memo_post(
        memo=CreditMemoData(
            reference="PT-REF-1",
            customer_number="C1005",
            amount=Decimal("45.00"),
            currency="USD",
            document_date=TODAY,
            original_reference="PT-7",
            invoice_number="INV-5007",
        )
    )
    assert memo.number.startswith("ODT")

    entry = JournalEntryData(
        reference="BATCH-77",
        entry_date=TODAY,
        currency="USD",
        description="Settlement batch 77",
        lines=(
            JournalLine(account="512000", debit=Decimal("970.00")),
            JournalLine(account="627000", debit=Decimal("30.00")),
            JournalLine(account="511000", credit=Decimal("1000.00")),
        ),
    )
    assert x3.journal_entry_post(entry=entry).number.startswith("ODT")

    unknown = JournalEntryData(
        **{
            **entry.__dict__,
            "reference": "BATCH-78",
            "lines": (
                JournalLine(account="999999", debit=Decimal("1")),
                JournalLine(account="511000", credit=Decimal("1")),
            ),
        }
    )
    with pytest.raises(ErpPermanentError, match="Account 999999 : Record does not exist"):
        x3.journal_entry_post(entry=unknown)
    unbalanced = JournalEntryData(**{**entry.__dict__, "reference": "BATCH-79", "lines": entry.lines[:2]})
    with pytest.raises(ErpPermanentError, match="not balanced"):
        x3.journal_entry_post(entry=unbalanced)


def test_pool_busy_says_so(x3):
    FAULTS.inject(error_next=2)
    with pytest.raises(ErpTransientError, match="no X3 client available"):
        x3.customer_get(number="C1001")  # api1 answers the same way
    with pytest.raises(ErpTransientError, match="no X3 client available"):
        x3.sales_order_create(
            order=SalesOrderData(
                reference="WEB-503",
                customer_number="C1001",
                currency="USD",
                order_date=TODAY,
                lines=(SalesOrderLine(sku="STOVE-1", quantity=Decimal("1"), unit_price=Decimal("64.99")),),
            )
        )


def test_an_applied_but_timed_out_journal_entry_is_found_by_our_reference(x3_url):
    x3 = X3Connector.from_connection(_connection(x3_url, timeout=0.5))
    FAULTS.inject(applied_timeout_next=1, hang_seconds=1.0)
    with pytest.raises(ErpTransientError):
        x3.journal_entry_post(
            entry=JournalEntryData(
                reference="FEES-LATE",
                entry_date=TODAY,
                currency="USD",
                description="Fees",
                lines=(JournalLine("627000", debit=Decimal("3")), JournalLine("512000", credit=Decimal("3"))),
            )
        )
    assert x3.document_find(document_type="journal_entry", reference="FEES-LATE") is not None


def test_record_in_use_is_transient_and_the_rest_of_the_batch_posts(x3):
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with transaction.atomic():
            X3Invoice.objects.select_for_update().get(num="INV-5002")
            locked.set()
            release.wait(5)
        db_connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(5)
        results = x3.receipts_post(
            receipts=[
                _receipt("PT-L1", "C1001", "10.00", ("INV-5002", "10.00")),
                _receipt("PT-L2", "C1001", "10.00", ("INV-5001", "10.00")),
            ]
        )
    finally:
        release.set()
        holder.join()
    # X3's generic message for a record another user holds (online help, generic messages).
    assert isinstance(results[0].error, ErpTransientError) and "Locked record" in results[0].error.message
    assert results[1].document is not None


def test_connection_refused_is_transient_and_not_applied():
    x3 = X3Connector.from_connection(
        Connection(
            system=System.SAGE_X3,
            base_url="http://127.0.0.1:9/sandbox/x3",
            credentials={"username": "u", "password": "p"},
            options={"folder": FOLDER, "pool_alias": POOL, "timeout": 1},
        )
    )
    with pytest.raises(ErpTransientError) as caught:
        x3.invoice_get(number="INV-5001")
    assert not caught.value.maybe_applied
    assert not x3.connection_test().ok
