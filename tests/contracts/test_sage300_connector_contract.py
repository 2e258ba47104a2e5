"""Sage 300 contract, replayed through our connector: a stub serves what Sage publishes (records built
from the AR $metadata, Sage's sample payloads, the Developer Reference's feed and error shapes) and the
connector must read it right; every request it makes must use resources and verbs of the Endpoint
Reference, names of the metadata or samples, and the documented `$filter` grammar."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from integrations.models import System
from integrations.sage.base import (
    CreditMemoData,
    CustomerData,
    ErpPermanentError,
    JournalEntryData,
    JournalLine,
    ReceiptApplication,
    ReceiptData,
    ReversalData,
    SalesOrderData,
    SalesOrderLine,
)
from integrations.sage.registry import connector_for
from tests.contracts.sage300_artefacts import (
    FUNCTIONS,
    OPERATORS,
    UNPROVEN,
    body_names,
    document,
    edmx,
    edmx_record,
    filter_terms,
    sample_names,
    samples,
    unknown_names,
)
from tests.contracts.sage300_stub import Seen, stub_start
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = document("endpoint_reference")["endpoints"]
EXAMPLES = document("developer_reference_examples")
ERROR_404 = EXAMPLES["error_example"]
DAY = date(2020, 6, 20)


@pytest.fixture
def stub():
    stub, server = stub_start()
    yield stub
    server.shutdown()
    server.server_close()
    for seen in stub.seen:
        _request_follows_the_artefacts(seen)


@pytest.fixture
def erp(stub):
    connection = ConnectionFactory(
        system=System.SAGE_300,
        base_url=f"{stub.url}/Sage300WebApi/v1.0",
        credentials={"username": "ADMIN", "password": "admin"},
        options={"company": "samltd", "bank_code": "SEATAC", "location": "1", "timeout": 5},
    )
    return connector_for(connection)


def _names_of(resource: str) -> set[str]:
    """What a body or filter for `resource` may name: its AR type's properties, else its samples'."""
    if resource in edmx():
        return set(edmx()[resource]["properties"])
    return sample_names(resource) | set(UNPROVEN.get(resource, {}))


def _request_follows_the_artefacts(seen: Seen) -> None:
    resource = re.match(r"\w+", seen.resource.split("/", 1)[1])[0]
    assert resource in ENDPOINTS, f"{resource} is in no table of the Endpoint Reference"
    assert seen.method in ENDPOINTS[resource]["verbs"], (seen.method, resource)
    assert seen.content_type.startswith("application/json"), "Content-Type is mandatory on every call"
    if "$filter" in seen.query:
        properties, operators, functions = filter_terms(seen.query["$filter"])
        assert operators <= OPERATORS, (operators - OPERATORS, seen.query["$filter"])
        assert functions <= FUNCTIONS, (functions - FUNCTIONS, seen.query["$filter"])
        assert properties <= _names_of(resource), (properties - _names_of(resource), resource)
    if seen.body is not None and resource in edmx():
        assert unknown_names(seen.body, resource) == [], resource
    elif seen.body is not None:
        assert body_names(seen.body) <= _names_of(resource), body_names(seen.body) - _names_of(resource)


def _feed(*records, **extra):
    """The feed as the Developer Reference prints it (`odata.context`, `odata.count` a string, `value`)."""
    context = re.search(r'"odata.context": "([^"]+)"', EXAMPLES["feed_with_count"]["text"])[1]
    return {"odata.context": context, **extra, "value": list(records)}


def test_a_feed_with_a_string_count_is_read(erp, stub):
    stub.answer(
        "GET",
        "AR/ARCustomers",
        (200, _feed(edmx_record("Customer", CustomerNumber="1100"), **{"odata.count": "625"})),
    )
    check = erp.connection_test()
    assert check.ok, check.message
    assert "625 customers" in check.message


def test_a_customer_entry_and_the_documented_not_found(erp, stub):
    stub.answer("GET", "AR/ARCustomers('1501')", (200, edmx_record("Customer", **samples()["ARCustomers"])))
    stub.answer("GET", "AR/ARCustomers('NOPE')", (ERROR_404["status"], ERROR_404["body"]))
    customer = erp.customer_get(number="1501")
    assert (customer.number, customer.name, customer.currency) == ("1501", "Customer 1501", "USD")
    assert customer.raw["CreditLimitCustomerCurrency"] == 12345
    assert erp.customer_get(number="NOPE") is None


def test_a_new_customer_sends_customer_properties_only(erp, stub):
    stub.answer("GET", "AR/ARCustomers('PTC-1')", (ERROR_404["status"], ERROR_404["body"]))
    stub.answer("POST", "AR/ARCustomers", lambda seen: (201, edmx_record("Customer", **seen.body)))
    created = erp.customer_upsert(
        customer=CustomerData(name="Gamma Labs", email="ap@gamma.example", reference="ptc-1")
    )
    assert created.number == "PTC-1"
    [post] = [seen for seen in stub.seen if seen.method == "POST"]
    assert post.body["CustomerName"] == "Gamma Labs"


def _document(number, due, invoiced, **values):
    return edmx_record(
        "PostedDocument",
        CustomerNumber="1200",
        DocumentNumber=number,
        DocumentType="Invoice",
        DocumentDate="2020-06-20T00:00:00Z",
        DueDate="2020-07-20T00:00:00Z",
        CurrencyCode="CAD",
        CustomerCurrencyInvoiceAmount=invoiced,
        CustomerCurrencyAmountDue=due,
        **values,
    )


def test_open_invoices_show_the_balance_sage_publishes(erp, stub):
    """CustomerCurrencyAmountDue is the open balance (metadata type PostedDocument); the functional
    currency's figures, at another rate, must not be taken for it. Pages follow the older
    `odata.nextLink`."""
    functional = {
        "ExchangeRate": 0.73,
        "FunctionalCurrencyInvoiceAmount": 365,
        "FunctionalCurrencyAmountDue": 226.59,
    }
    pages = {
        None: _feed(
            _document("IN0000000123", 310.4, 500, **functional),
            **{"odata.nextLink": "ARPostedDocuments?$skip=1"},
        ),
        "1": _feed(_document("IN0000000124", 89.99, 89.99)),
    }
    stub.answer("GET", "AR/ARPostedDocuments", lambda seen: (200, pages[seen.query.get("$skip")]))
    invoices = erp.invoices_open(customer_number="1200")
    assert [(invoice.number, invoice.amount, invoice.balance) for invoice in invoices] == [
        ("IN0000000123", Decimal("500"), Decimal("310.4")),
        ("IN0000000124", Decimal("89.99"), Decimal("89.99")),
    ]
    assert (invoices[0].currency, invoices[0].issued_on, invoices[0].due_on) == (
        "CAD",
        DAY,
        date(2020, 7, 20),
    )
    assert "CustomerCurrencyAmountDue gt 0" in stub.seen[0].query["$filter"]
    stub.answer("GET", "AR/ARPostedDocuments", (200, _feed(_document("IN0000000124", 0, 89.99))))
    paid = erp.invoice_get(number="IN0000000124")
    assert (paid.amount, paid.balance) == (Decimal("89.99"), Decimal("0"))


def test_changed_customers_are_asked_with_documented_operators(erp, stub):
    stub.answer("GET", "AR/ARCustomers", (200, _feed(edmx_record("Customer", CustomerNumber="1200"))))
    changed = list(erp.customers_changed(since=datetime(2020, 6, 20, 15, tzinfo=UTC)))
    assert [customer.number for customer in changed] == ["1200"]
    assert stub.seen[0].query["$filter"] == "DateLastMaintained gt datetime'2020-06-19T00:00:00'"


def _created(type_name, rows_type, rows_name, *, rows, **server):
    """POST's documented answer: the record created, with the keys the server generated (`server` for
    the header, `rows` for each entry)."""

    def answer(seen):
        rows_answered = [
            edmx_record(rows_type, **{**row, rows_name[1]: [], **server_row})
            for row, server_row in zip(seen.body[rows_name[0]], rows, strict=True)
        ]
        header = {name: value for name, value in seen.body.items() if name != rows_name[0]}
        return 201, edmx_record(type_name, **{**header, **server, rows_name[0]: rows_answered})

    return answer


def _receipts_created(**server):
    return _created(
        "ReceiptAndAdjustmentBatch",
        "ReceiptsAdjustment",
        ("ReceiptsAdjustments", "AppliedReceiptsAdjustments"),
        **server,
    )


def test_receipts_are_entered_and_posted_as_documented(erp, stub):
    stub.answer(
        "POST",
        "AR/ARReceiptAndAdjustmentBatches",
        _receipts_created(
            BatchNumber=65,
            BatchStatus="ReadyToPost",
            rows=[{"BatchType": "CA", "BatchNumber": 65, "EntryNumber": 1, "DocumentNumber": "PY0000000021"}],
        ),
    )
    stub.answer("POST", "AR/ARPostReceiptsAndAdjustments('$process')", (204, None))  # no body, as documented
    receipt = ReceiptData(
        reference="PT-1",
        customer_number="1200",
        amount=Decimal("100.00"),
        currency="USD",
        receipt_date=DAY,
        payment_code="CHECK",
        applications=(ReceiptApplication("IN0000000123", Decimal("80.00")),),
    )
    [result] = erp.receipts_post(receipts=[receipt])
    assert result.error is None
    assert result.document.number == "CA65-1"
    batch, process = stub.seen
    assert batch.body["BatchRecordType"] == "CA"  # required on POST (the Endpoint Reference)
    assert batch.body["ReceiptsAdjustments"][0]["CheckReceiptNumber"] == "PT-1"
    assert process.body == {"BatchType": "CA", "PostAllBatches": "Postallbatches"}  # its one documented value


def test_a_reversal_gives_back_the_documents_the_receipt_left(erp, stub):
    applied = edmx_record(
        "AppliedReceiptsAdjustment", DocumentNumber="IN0000000123", CustomerReceiptAmount=80
    )
    entry = edmx_record(
        "ReceiptsAdjustment",
        EntryNumber=1,
        CustomerNumber="1200",
        CheckReceiptNumber="PT-1",
        DocumentNumber="PY0000000021",
        CustomerReceiptAmount=100,
        CustomerUnappliedAmount=20,
        AppliedReceiptsAdjustments=[applied],
    )
    batch = edmx_record(
        "ReceiptAndAdjustmentBatch",
        BatchRecordType="CA",
        BatchNumber=65,
        BankCode="SEATAC",
        ReceiptsAdjustments=[entry],
    )
    stub.answer("GET", "AR/ARReceiptAndAdjustmentBatches(BatchRecordType='CA',BatchNumber=65)", (200, batch))
    stub.answer("GET", "BK/BKBanks('SEATAC')", (200, {**samples()["BKBanks"], "BankCode": "SEATAC"}))
    stub.answer(
        "POST",
        "AR/ARReceiptAndAdjustmentBatches",
        _receipts_created(
            BatchNumber=3,
            rows=[{"EntryNumber": 1, "DocumentNumber": "AD0000000003"}],
        ),
    )
    stub.answer("POST", "AR/ARPostReceiptsAndAdjustments('$process')", (204, None))
    reversal = ReversalData(
        reference="PT-1-V",
        original_reference="PT-1",
        original_document_number="CA65-1",
        customer_number="1200",
        amount=Decimal("100.00"),
        currency="USD",
        document_date=DAY,
    )
    document_ = erp.receipt_reverse(reversal=reversal)
    assert document_.number == "AD0000000003"
    posted = next(
        seen for seen in stub.seen if seen.method == "POST" and seen.body.get("BatchRecordType") == "AD"
    )
    lines = posted.body["ReceiptsAdjustments"][0]["AppliedReceiptsAdjustments"]
    # The unapplied cash is the document Sage numbered for the entry, not its check/receipt number.
    assert [(line["DocumentNumber"], line["AdjustmentGLDistributions"][0]) for line in lines] == [
        ("PY0000000021", {"DistributionGLAccount": "1020", "DistributionAmount": Decimal("-20.00")}),
        ("IN0000000123", {"DistributionGLAccount": "1020", "DistributionAmount": Decimal("-80.00")}),
    ]


def test_a_credit_note_is_entered_and_posted(erp, stub):
    stub.answer(
        "POST",
        "AR/ARInvoiceBatches",
        _created(
            "InvoiceBatch",
            "Invoice",
            ("Invoices", "InvoiceDetails"),
            BatchNumber=76,
            rows=[{"EntryNumber": 1}],
        ),
    )
    stub.answer("POST", "AR/ARPostInvoices('$process')", (204, None))
    memo = CreditMemoData(
        reference="PT-2",
        customer_number="1200",
        amount=Decimal("30.00"),
        currency="USD",
        document_date=DAY,
        invoice_number="IN0000000123",
        account="4030",
    )
    assert erp.credit_memo_post(memo=memo).number == "PT-2"
    assert stub.seen[0].body["Invoices"][0]["DocumentType"] == "CreditNote"
    assert stub.seen[1].body == {"PostAllBatches": "Postallbatches"}


def test_a_journal_batch_uses_the_gl_samples_names(erp, stub):
    stub.answer("POST", "GL/GLJournalBatches", lambda seen: (201, {**seen.body, "BatchNumber": "000490"}))
    entry = JournalEntryData(
        reference="SETTLE-1",
        entry_date=DAY,
        currency="USD",
        description="Settlement",
        lines=(JournalLine("1000", debit=Decimal("30")), JournalLine("6000", credit=Decimal("30"))),
    )
    assert erp.journal_entry_post(entry=entry).number == "000490"
    body = stub.seen[0].body
    assert body["Status"] == "ReadyToPost" and "BatchStatus" not in body
    assert [detail["Amount"] for detail in body["JournalHeaders"][0]["JournalDetails"]] == [30, -30]


def test_a_sales_order_sends_sample_names_and_reads_the_order_number(erp, stub):
    flow = {step["step"]: step for step in document("sample_integration_flow")["flow"]}
    answered = flow["order with shipment and invoice"]["response_fields_read"]
    stub.answer(
        "POST",
        "OE/OEOrders",
        lambda seen: (201, {**seen.body, **dict.fromkeys(answered, ""), "OrderNumber": "ORD000000000001"}),
    )
    order = SalesOrderData(
        reference="WEB-1",
        customer_number="1400",
        currency="USD",
        order_date=DAY,
        lines=(SalesOrderLine("A1-105/0", Decimal("8"), Decimal("12.50")),),
    )
    assert erp.sales_order_create(order=order).number == "ORD000000000001"
    sent = body_names(stub.seen[0].body)
    assert "OrderNumber" not in sent  # Sage's samples send none: the server numbers the order
    assert sent - sample_names("OEOrders") <= set(UNPROVEN["OEOrders"])


def test_stock_comes_from_the_documented_items_resource(erp, stub):
    item = {**samples()["ICItems"], "ItemNumber": "ITEM51"}
    stub.answer("GET", "IC/ICItems", (200, _feed(item)))
    [level] = erp.stock_levels(skus=["ITEM51", "NOPE"])
    assert (level.sku, level.location) == ("ITEM51", "1")
    assert [seen.resource for seen in stub.seen] == ["IC/ICItems"]  # never the undocumented ICLocationDetails


def test_the_documented_error_is_a_permanent_error_with_sages_code(erp, stub):
    stub.answer("POST", "OE/OEOrders", (ERROR_404["status"], ERROR_404["body"]))
    order = SalesOrderData(
        reference="WEB-2", customer_number="1400", currency="USD", order_date=DAY, lines=()
    )
    with pytest.raises(ErpPermanentError) as refused:
        erp.sales_order_create(order=order)
    assert (refused.value.code, refused.value.http_status) == ("RecordNotFound", 404)
    assert refused.value.message == ERROR_404["body"]["error"]["message"]["value"]
