"""SageProConnector against the Sage Pro simulator: the REST gateway over real HTTP, the CSV drop
folder in a tmp_path with the simulator's scheduled import running beside it."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from integrations.models import System
from integrations.sage.base import (
    Address,
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
from integrations.sage.connector import ErpConnector
from integrations.sage.registry import connector_for
from integrations.sage.sagepro import SageProConnector
from integrations.sage.sagepro.contract import error_from_body
from simulators.sagepro.drop import sandbox_sagepro_drop_process
from simulators.sagepro.models import SproInvoice, SproSite, SproStock
from simulators.sagepro.services import sandbox_sagepro_seed, sandbox_sagepro_site_ensure
from tests.factories import ConnectionFactory
from tests.integrations.connectors.base import ConnectorSuite, ErpFacts, SandboxFaults, receipt

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "sagepro-test-key"
TODAY = timezone.now().date()
FAULTS = SandboxFaults(system=System.SAGE_PRO, account="DEMO")
FACTS = ErpFacts(
    secret=API_KEY,
    journal_accounts=("1000", "6100", "1050"),
    unknown_account="1999",
    payment_code="VISA",
    bank_code="OPER",
    cash_account="1050",
    refund_account="4100",
    order_defaults={"LOCTID": "WH1"},
    invoice_account="4000",
)
_receipt = partial(receipt, FACTS)


@pytest.fixture(autouse=True)
def _drop_root(settings, tmp_path):
    # The drop folders below live in tmp_path: it is the root every drop folder must lie under.
    settings.SAGEPRO_DROP_ROOT = tmp_path


@pytest.fixture
def site() -> SproSite:
    obj = sandbox_sagepro_site_ensure(site="DEMO", api_key=API_KEY)
    sandbox_sagepro_seed(site="DEMO")
    return obj


def _connector(**fields) -> SageProConnector:
    connector = connector_for(ConnectionFactory(system=System.SAGE_PRO, **fields))
    assert isinstance(connector, SageProConnector)
    assert isinstance(connector, ErpConnector)
    return connector


def _rest(sandbox_base: str, **options) -> SageProConnector:
    return _connector(
        base_url=f"{sandbox_base}/sagepro",
        credentials={"api_key": API_KEY},
        options={"timeout": 0.6, "receipt_batch_size": 2, **options},
    )


def _csv(folder: Path, **options) -> SageProConnector:
    return _connector(
        base_url="file:///unused",
        credentials={},
        options={
            "transport": "csv",
            "drop_folder": str(folder),
            "import_wait_seconds": 5,
            "receipt_batch_size": 2,
            **options,
        },
    )


@pytest.fixture
def rest(site, sandbox_base) -> SageProConnector:
    return _rest(sandbox_base)


@pytest.fixture
def drop(site, tmp_path) -> Path:
    sandbox_sagepro_drop_process(folder=tmp_path)  # Sage Pro's first run lays the folder out and exports
    return tmp_path


@pytest.fixture
def csv(drop) -> SageProConnector:
    return _csv(drop)


@contextmanager
def scheduled_import(folder: Path) -> Iterator[None]:
    """Plays Sage Pro's scheduled import: picks up dropped files while the connector waits for results."""
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                if any((folder / "in").glob("*.csv")):
                    sandbox_sagepro_drop_process(folder=folder)
                stop.wait(0.05)
        finally:
            connections.close_all()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(timeout=10)


@pytest.fixture(params=["rest", "csv"])
def erp(request) -> Iterator[SageProConnector]:
    """The same behaviour is asked of both transports."""
    connector = request.getfixturevalue(request.param)
    if request.param == "csv":
        with scheduled_import(request.getfixturevalue("drop")):
            yield connector
    else:
        yield connector


class TestSageProRest(ConnectorSuite):
    """The shared connector suite against the Sage Pro simulator's REST gateway."""

    erp_facts, erp_faults = FACTS, FAULTS

    @pytest.fixture
    def make_erp(self, site, sandbox_base):
        return partial(_rest, sandbox_base)

    @pytest.fixture
    def erp(self, rest) -> SageProConnector:
        return rest


class TestSageProCsv(ConnectorSuite):
    """The shared connector suite against the Sage Pro simulator's drop folder and scheduled import."""

    erp_facts = FACTS

    @pytest.fixture
    def make_erp(self, drop):
        with scheduled_import(drop):
            yield partial(_csv, drop)

    @pytest.fixture
    def erp(self, make_erp) -> SageProConnector:
        return make_erp()

    @pytest.fixture
    def faults(self) -> None:
        pytest.skip(
            "a drop folder has no HTTP faults; its late import: test_csv_dropped_but_not_yet_imported"
        )


def _journal(reference: str, *lines: tuple[str, str, str]) -> JournalEntryData:
    return JournalEntryData(
        reference=reference,
        entry_date=TODAY,
        currency="USD",
        description="Settlement 2024-05-01",
        lines=tuple(
            JournalLine(account, Decimal(debit), Decimal(credit)) for account, debit, credit in lines
        ),
    )


def _balance(invno: str) -> Decimal:
    return SproInvoice.objects.get(invno=invno).balance


# --- behaviour shared by both transports -----------------------------------------------------------------


def test_customer_upsert_new_then_existing_and_lookups(erp):
    before = timezone.now()
    new = erp.customer_upsert(
        customer=CustomerData(
            name="Granite Peak Gear",
            email="Ops@GranitePeak.example",
            phone="406-555-0107",
            reference="PT-CUST-77",
            address=Address(line1="1 Main St", city="Bozeman", state="MT", postal_code="59715", country="US"),
        )
    )
    assert new.number.startswith("C2")
    again = erp.customer_upsert(customer=CustomerData(name="Granite Peak Gear Co", reference="PT-CUST-77"))
    assert again.number == new.number  # found by our reference, updated, not duplicated
    assert again.name == "Granite Peak Gear Co" and again.phone == "406-555-0107"  # blanks never wipe
    existing = erp.customer_upsert(
        customer=CustomerData(number="C1001", name="Acme Outdoor Supply", phone="1")
    )
    assert (
        existing.number == "C1001" and existing.phone == "1" and existing.email == "ap@acme-outdoor.example"
    )

    assert [c.number for c in erp.customer_find_by_email(email="ops@granitepeak.example")] == [new.number]
    assert [c.number for c in erp.customer_find_by_name(name="birch & maple")] == ["C1002"]
    changed = {c.number for c in erp.customers_changed(since=before)}
    assert {new.number, "C1001"} <= changed and "C1004" not in changed


def test_sales_order_allocates_and_backorders_the_shortage(erp):
    order = SalesOrderData(
        reference="WEB-2001",
        customer_number="C1001",
        currency="USD",
        order_date=TODAY,
        lines=(
            SalesOrderLine("TENT-2P", Decimal("2"), Decimal("249.00")),
            SalesOrderLine("MUG-TI", Decimal("3"), Decimal("19.00")),
        ),
        defaults={"LOCTID": "WH1"},
    )
    document = erp.sales_order_create(order=order)
    assert document.number.startswith("SO") and document.reference == "WEB-2001"
    assert document.raw["STATUS"] == "BACKORDER"
    lines = {line["ITEM"]: line for line in document.raw["LINES"]}
    assert (lines["TENT-2P"]["QTYALLOC"], lines["MUG-TI"]["QTYALLOC"], lines["MUG-TI"]["QTYBACK"]) == (
        "2",
        "0",
        "3",
    )
    [mug] = erp.stock_levels(skus=["MUG-TI"])
    assert mug.available == 0

    with pytest.raises(ErpPermanentError) as duplicate:
        erp.sales_order_create(order=order)
    assert duplicate.value.code == "DUPLICATE_PONUM"
    with pytest.raises(ErpPermanentError) as unknown:
        erp.sales_order_create(
            order=SalesOrderData(
                "WEB-2002", "C1001", "USD", TODAY, (SalesOrderLine("NOPE", Decimal(1), Decimal(1)),)
            )
        )
    assert unknown.value.code == "UNKNOWN_ITEM" and "NOPE" in unknown.value.message


def test_batched_receipts_remainder_on_account_and_one_bad_row(erp):
    results = erp.receipts_post(
        receipts=[
            _receipt("PT-9001", "C1001", "1500.00", ("INV-5001", "1250.00")),
            _receipt("PT-9002", "C0000", "10.00"),
            _receipt("PT-9003", "C1001", "100.00", ("INV-5002", "100.00")),
        ]
    )
    assert [r.reference for r in results] == ["PT-9001", "PT-9002", "PT-9003"]
    first, bad, third = results
    assert first.document.number.startswith("R") and first.document.raw["UNAPPLIED"] == "250.00"
    assert isinstance(bad.error, ErpPermanentError) and bad.error.code == "UNKNOWN_CUSTOMER"
    assert "C0000" in bad.error.message and bad.document is None
    assert third.document.raw["APPLS"] == [{"APPLINVNO": "INV-5002", "APPLAMT": "100.00"}]
    assert (_balance("INV-5001"), _balance("INV-5002")) == (Decimal("0.00"), Decimal("210.40"))
    assert erp.document_find(document_type="reversal", reference="PT-9001") is None

    [duplicate] = erp.receipts_post(receipts=[_receipt("PT-9001", "C1001", "1500.00")])
    assert isinstance(duplicate.error, ErpPermanentError) and duplicate.error.code == "DUPLICATE_RECEIPT"
    assert first.document.number in duplicate.error.message

    [over] = erp.receipts_post(receipts=[_receipt("PT-9010", "C1002", "500.00", ("INV-5003", "500.00"))])
    assert isinstance(over.error, ErpPermanentError) and over.error.code == "APPLY_EXCEEDS_BALANCE"
    assert "89.99" in over.error.message
    assert _balance("INV-5003") == Decimal("89.99")


def test_credit_memo_and_reversal(erp):
    [paid] = erp.receipts_post(receipts=[_receipt("PT-9020", "C1003", "150.00", ("INV-5005", "150.00"))])
    assert _balance("INV-5005") == 0
    reversal = erp.receipt_reverse(
        reversal=ReversalData(
            reference="PT-9021",
            original_reference="PT-9020",
            original_document_number="",
            customer_number="C1003",
            amount=Decimal("150.00"),
            currency="USD",
            document_date=TODAY,
        )
    )
    assert reversal.raw["REVERSES"] == paid.document.number and reversal.raw["PAYAMT"] == "-150.00"
    assert _balance("INV-5005") == Decimal("150.00")
    assert erp.document_find(document_type="reversal", reference="PT-9021").number == reversal.number
    with pytest.raises(ErpPermanentError) as again:
        erp.receipt_reverse(
            reversal=ReversalData(
                "PT-9022", "PT-9020", paid.document.number, "C1003", Decimal("150.00"), "USD", TODAY
            )
        )
    assert again.value.code == "ALREADY_REVERSED"

    memo = erp.credit_memo_post(
        memo=CreditMemoData(
            reference="PT-9030",
            customer_number="C1003",
            amount=Decimal("200.00"),
            currency="USD",
            document_date=TODAY,
            original_reference="PT-9020",
            invoice_number="INV-5005",
            account="4100",
        )
    )
    assert memo.number.startswith("CM") and memo.raw["BALANCE"] == "-50.00"  # 150 closed, 50 open credit
    assert _balance("INV-5005") == 0
    assert erp.document_find(document_type="credit_memo", reference="PT-9030").number == memo.number
    with pytest.raises(ErpPermanentError) as bad_account:
        erp.credit_memo_post(
            memo=CreditMemoData("PT-9031", "C1003", Decimal("1.00"), "USD", TODAY, account="4999")
        )
    assert bad_account.value.code == "UNKNOWN_ACCOUNT" and "4999" in bad_account.value.message


def test_journal_entry_balanced_only(erp):
    document = erp.journal_entry_post(
        entry=_journal("SETTLE-1", ("1000", "970.00", "0"), ("6100", "30.00", "0"), ("1050", "0", "1000.00"))
    )
    assert document.number.startswith("GL") and len(document.raw["LINES"]) == 3
    with pytest.raises(ErpPermanentError) as unbalanced:
        erp.journal_entry_post(entry=_journal("SETTLE-2", ("1000", "970.00", "0"), ("1050", "0", "1000.00")))
    assert unbalanced.value.code == "UNBALANCED" and "970.00" in unbalanced.value.message
    with pytest.raises(ErpPermanentError) as unknown:
        erp.journal_entry_post(entry=_journal("SETTLE-3", ("1999", "1.00", "0"), ("1050", "0", "1.00")))
    assert unknown.value.code == "UNKNOWN_ACCOUNT" and "1999" in unknown.value.message


# --- REST: transient faults --------------------------------------------------------------------------------


def test_rest_unavailable_and_locked_are_transient_and_not_applied(rest, site):
    for status, code in ((503, "SERVICE_UNAVAILABLE"), (423, "TABLE_LOCKED")):
        SproSite.objects.filter(pk=site.pk).update(fault_status=status)
        FAULTS.inject(error_next=2)
        with pytest.raises(ErpTransientError) as raised:
            rest.journal_entry_post(entry=_journal("JE-LOCK", ("1000", "1.00", "0"), ("1050", "0", "1.00")))
        assert (raised.value.code, raised.value.http_status, raised.value.maybe_applied) == (
            code,
            status,
            False,
        )
        [result] = rest.receipts_post(receipts=[_receipt("PT-LOCK", "C1001", "5.00")])
        assert isinstance(result.error, ErpTransientError) and result.error.code == code
        assert rest.document_find(document_type="journal_entry", reference="JE-LOCK") is None


def test_rest_timeouts_before_and_after_applying(rest):
    FAULTS.inject(timeout_next=1, hang_seconds=1.0)
    with pytest.raises(ErpTransientError) as raised:
        rest.journal_entry_post(entry=_journal("JE-SLOW", ("1000", "1.00", "0"), ("1050", "0", "1.00")))
    assert raised.value.code == "TIMEOUT" and raised.value.maybe_applied
    assert rest.document_find(document_type="journal_entry", reference="JE-SLOW") is None

    FAULTS.inject(applied_timeout_next=1)
    results = rest.receipts_post(
        receipts=[
            _receipt("PT-7001", "C1004", "80.25", ("INV-5006", "80.25")),
            _receipt("PT-7002", "C1004", "1.00"),
        ]
    )
    assert all(isinstance(r.error, ErpTransientError) and r.error.maybe_applied for r in results)
    found = rest.document_find(document_type="receipt", reference="PT-7001")
    assert found is not None and found.raw["APPLS"][0]["APPLINVNO"] == "INV-5006"
    assert rest.document_find(document_type="receipt", reference="PT-7002") is not None
    assert _balance("INV-5006") == Decimal("700.00")


def test_rest_auth_connection_errors_and_paging(site, sandbox_base):
    wrong_key = _connector(base_url=f"{sandbox_base}/sagepro", credentials={"api_key": "nope"})
    check = wrong_key.connection_test()
    assert not check.ok and "AUTH_FAILED" in check.message
    with pytest.raises(ErpPermanentError):
        wrong_key.customer_get(number="C1001")
    basic = _connector(
        base_url=f"{sandbox_base}/sagepro", credentials={"username": "demo", "password": API_KEY}
    )
    assert basic.customer_get(number="C1001").name == "Acme Outdoor Supply"
    down = _connector(base_url="http://127.0.0.1:9/sagepro", credentials={"api_key": API_KEY})
    with pytest.raises(ErpTransientError) as raised:
        down.invoices_open(customer_number="C1001")
    assert raised.value.code == "CONNECTION_ERROR" and not raised.value.maybe_applied

    paged = _connector(
        base_url=f"{sandbox_base}/sagepro",
        credentials={"api_key": API_KEY},
        options={"page_size": 1},
    )
    assert [i.number for i in paged.invoices_open(customer_number="C1001")] == ["INV-5001", "INV-5002"]
    calls = paged.transcript_take()
    assert len(calls) == 2 and "page=2" in calls[1]["url"]
    assert all(API_KEY not in str(call) for call in calls)
    assert paged.transcript_take() == []


# --- CSV: pending files and the import's own answers ---------------------------------------------


@pytest.mark.django_db  # no scheduled import thread here: the test's own transaction is enough
def test_csv_dropped_but_not_yet_imported_is_found_after_the_import(drop, site):
    connector = _csv(drop, import_wait_seconds=0)
    [pending] = connector.receipts_post(
        receipts=[_receipt("PT-8001", "C1005", "45.00", ("INV-5007", "45.00"))]
    )
    assert isinstance(pending.error, ErpTransientError) and pending.error.code == "IMPORT_PENDING"
    assert pending.error.maybe_applied
    with pytest.raises(ErpTransientError) as still_pending:
        connector.document_find(document_type="receipt", reference="PT-8001")
    assert still_pending.value.code == "IMPORT_PENDING"
    assert list((drop / "in").glob("ARCASH_*.csv")) and not list((drop / "in").glob(".*"))

    [result_file] = sandbox_sagepro_drop_process(folder=drop)  # Sage Pro's scheduled run
    assert "OK" in result_file.read_text()
    found = connector.document_find(document_type="receipt", reference="PT-8001")
    assert found.number.startswith("R") and found.raw["APPLS"] == [
        {"APPLINVNO": "INV-5007", "APPLAMT": "45.00"}
    ]
    assert _balance("INV-5007") == 0
    calls = connector.transcript_take()
    assert {call["method"] for call in calls} >= {"WRITE", "WAIT", "READ"}
    assert all(
        set(call) == {"method", "url", "status", "duration_ms", "request", "response", "error"}
        for call in calls
    )


@pytest.mark.django_db
def test_csv_missing_folder_and_unknown_file(tmp_path, site):
    connector = _csv(tmp_path / "x")
    check = connector.connection_test()
    assert not check.ok and "in, out, export" in check.message
    for name in ("in", "out", "export"):
        (tmp_path / "x" / name).mkdir(parents=True)
    check = connector.connection_test()
    assert not check.ok and "EXPORT_MISSING" in check.message
    sandbox_sagepro_drop_process(folder=tmp_path)
    (tmp_path / "in" / "BOGUS_1.csv").write_text("A,B\n1,2\n")
    (tmp_path / "in" / "ARCASH_2.csv").write_bytes(b"CUSTNO,CHECKNO\n\xff\xfe,1\n")
    unreadable, unknown = sandbox_sagepro_drop_process(folder=tmp_path)  # oldest name first
    assert "UNKNOWN_FILE" in unknown.read_text() and "BAD_FILE" in unreadable.read_text()
    assert not list((tmp_path / "in").iterdir())
    assert SproStock.objects.filter(alloc__gt=0).count() == 0


def _body(code: str, message: str, field: str = "") -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "message"),
    [
        (429, _body("RATE_LIMITED", "slow down"), ErpTransientError, "RATE_LIMITED", "slow down"),
        (502, "<html>Bad gateway</html>", ErpTransientError, "HTTP_502", "<html>Bad gateway</html>"),
        (
            409,
            _body("DUPLICATE_PONUM", "taken", "PONUM"),
            ErpPermanentError,
            "DUPLICATE_PONUM",
            "PONUM: taken",
        ),
        (
            422,
            _body("UNKNOWN_ITEM", "item X does not exist"),
            ErpPermanentError,
            "UNKNOWN_ITEM",
            "item X does not exist",
        ),
    ],
)
def test_gateway_error_bodies_map_to_transient_or_permanent(status, body, kind, code, message):
    error = error_from_body(body, http_status=status)
    assert (type(error), error.code, error.message, error.http_status) == (kind, code, message, status)
