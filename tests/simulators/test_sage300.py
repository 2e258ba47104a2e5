"""The Sage 300 simulator over real HTTP, spoken to the way a raw Web API client would."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from integrations.models import System
from integrations.sage.sage300.codec import dumps
from simulators.models import FaultProfile
from simulators.sage300.models import Company, Customer, ItemLocation, OpenDocument
from simulators.sage300.services import sandbox_sage300_company_ensure, sandbox_sage300_seed

# Flush only the tables these tests touch: truncating every table of the project after each live-server
# test is what makes such files slow.
SAGE300_DB = pytest.mark.django_db(
    transaction=True,
    available_apps=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "portal",
        "integrations",
        # The connector suites write invoices and read the review queues (payments, customers): their
        # tables are flushed after each test too.
        "customers",
        "payments",
        "simulators",
        "simulators.sage300",
    ],
)
pytestmark = SAGE300_DB

COMPANY = "SAMLTD"
PASSWORD = "Secret-300"


@pytest.fixture
def api(sandbox_base):
    sandbox_sage300_company_ensure(company=COMPANY, password=PASSWORD)
    sandbox_sage300_seed(company=COMPANY)
    session = requests.Session()
    session.auth = ("ADMIN", PASSWORD)
    session.headers["Content-Type"] = "application/json"
    session.root = f"{sandbox_base}/sage300/Sage300WebApi/v1.0/-/{COMPANY}"
    return session


def _get(api, path, **params):
    return api.get(f"{api.root}/{path}", params=params, timeout=5)


def _post(api, path, body):
    return api.post(f"{api.root}/{path}", data=dumps(body), timeout=5)


def _error(response):
    body = response.json()["error"]
    return body["code"], body["message"]["value"]


def _decimal_json(response):
    return json.loads(response.text, parse_float=Decimal)


def test_seed_is_idempotent(api):
    sandbox_sage300_seed(company=COMPANY)
    assert Customer.objects.filter(company__code=COMPANY).count() == 6
    assert OpenDocument.objects.filter(company__code=COMPANY).count() == 8
    assert ItemLocation.objects.get(item__number="TENT-2P").on_hand == Decimal("40")


def test_sign_on_and_content_type_are_enforced(api):
    anonymous = requests.get(
        f"{api.root}/AR/ARCustomers", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert anonymous.status_code == 401
    assert _error(anonymous)[0] == "Unauthorized"
    wrong = requests.get(
        f"{api.root}/AR/ARCustomers",
        auth=("ADMIN", "nope"),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert wrong.status_code == 401
    bare = requests.get(f"{api.root}/AR/ARCustomers", auth=("admin", PASSWORD), timeout=5)
    assert bare.status_code == 500


def test_feed_entry_and_missing_record(api):
    feed = _get(api, "AR/ARCustomers", **{"$count": "true"}).json()
    assert feed["@odata.count"] == 6
    assert feed["@odata.context"].endswith("/AR/$metadata#ARCustomers")
    assert [row["CustomerNumber"] for row in feed["value"]][:2] == ["C1001", "C1002"]
    entry = _get(api, "AR/ARCustomers('C1003')", **{"$select": "CustomerNumber,Email"}).json()
    assert entry["Email"] == "accounts@cobaltdental.example"
    assert "CustomerName" not in entry
    missing = _get(api, "AR/ARCustomers('NOPE')")
    assert missing.status_code == 404
    assert _error(missing)[0] == "RecordNotFound"
    assert _get(api, "AR/ARNothing").status_code == 404


FILTERS = [
    ("CustomerNumber eq 'C1002'", ["C1002"]),
    ("CustomerNumber ne 'C1002' and CurrencyCode eq 'CAD'", ["C1006"]),
    ("BalanceDueInCustomerCurrency gt 1000 or CustomerNumber eq 'C1005'", ["C1001", "C1003", "C1005"]),
    ("BalanceDueInCustomerCurrency le 89.99m", ["C1002", "C1005"]),
    ("BalanceDueInCustomerCurrency gt 4349.99 and BalanceDueInCustomerCurrency lt 4350.01", ["C1003"]),
    ("substringof('Dental', CustomerName)", ["C1003"]),
    ("startswith(CustomerName,'Birch')", ["C1002"]),
    ("startswith(CustomerName,'birch')", []),  # binary collation: case matters
    ("endswith(Email,'.example') and length(CustomerNumber) eq 5", [f"C100{n}" for n in range(1, 7)]),
    ("DateLastMaintained gt datetime'{yesterday}T00:00:00'", [f"C100{n}" for n in range(1, 7)]),
    ("DateLastMaintained gt datetime'{today}T00:00:00'", []),
    ("DateLastMaintained le {today}T00:00:00Z", [f"C100{n}" for n in range(1, 7)]),  # Postman's bare form
    ("(CustomerNumber eq 'C1001' or CustomerNumber eq 'C1004') and City ne 'Chicago'", ["C1001"]),
    ("CustomerName eq 'Birch & Maple Cafe' or CustomerName eq 'O''Brien'", ["C1002"]),
]


def test_filter_expressions(api):
    today = timezone.now().date()
    for expression, expected in FILTERS:
        query = expression.replace("{today}", today.isoformat())
        query = query.replace("{yesterday}", (today - timedelta(days=1)).isoformat())
        response = _get(api, "AR/ARCustomers", **{"$filter": query, "$select": "CustomerNumber"})
        assert response.status_code == 200, (query, response.text)
        assert [row["CustomerNumber"] for row in response.json()["value"]] == expected, query


@pytest.mark.parametrize(
    "expression",
    [
        "tolower(CustomerName) eq 'x'",  # functions: substringof, endswith, startswith, length only
        "BalanceDueInCustomerCurrency ge 4350",  # operators: eq ne gt lt le, and, or: no ge
        "not (City eq 'Chicago')",  # and no not
    ],
)
def test_undocumented_filter_syntax_is_refused(api, expression):
    response = _get(api, "AR/ARCustomers", **{"$filter": expression})
    assert response.status_code == 400
    assert _error(response)[0] == "InvalidParameters"


def _many_customers(count):
    company = Company.objects.get(code=COMPANY)
    Customer.objects.bulk_create(
        Customer(
            company=company,
            number=f"P{n:04d}",
            name=f"Paging {n}",
            date_last_maintained=timezone.now().date(),
        )
        for n in range(count)
    )


def test_server_paging_follows_next_link(api):
    _many_customers(150)
    first = _get(
        api, "AR/ARCustomers", **{"$filter": "startswith(CustomerNumber,'P')", "$count": "true"}
    ).json()
    assert len(first["value"]) == 100
    assert first["@odata.count"] == 150
    assert "$skip=100" in first["@odata.nextLink"]
    second = api.get(first["@odata.nextLink"], timeout=5).json()
    assert len(second["value"]) == 50
    assert "@odata.nextLink" not in second
    capped = _get(api, "AR/ARCustomers", **{"$top": "120", "$skip": "10"}).json()
    assert len(capped["value"]) == 100
    rest = api.get(capped["@odata.nextLink"], timeout=5).json()
    assert len(rest["value"]) == 20


def test_legacy_servers_answer_with_odata_dot_names(api):
    Company.objects.filter(code=COMPANY).update(legacy_odata=True, page_size=4)
    feed = _get(api, "AR/ARCustomers", **{"$count": "true"}).json()
    assert feed["odata.count"] == "6"  # a string, as the Developer Reference shows it
    assert len(feed["value"]) == 4
    assert "@odata.nextLink" not in feed
    assert len(api.get(feed["odata.nextLink"], timeout=5).json()["value"]) == 2


def test_customer_create_duplicate_and_unknown_property(api):
    body = {"CustomerNumber": "C2001", "CustomerName": "Gamma Labs", "Email": "ap@gamma.example"}
    created = _post(api, "AR/ARCustomers", body)
    assert created.status_code == 201
    assert created.json()["ShortName"] == "Gamma Labs"
    duplicate = _post(api, "AR/ARCustomers", body)
    assert duplicate.status_code == 409
    assert _error(duplicate)[0] == "RecordDuplicate"
    misspelt = _post(
        api, "AR/ARCustomers", {"CustomerNumber": "C2002", "CustomerName": "X", "EmailAddress": "x"}
    )
    assert misspelt.status_code == 400
    assert _error(misspelt)[0] == "InvalidPayload"
    patched = api.patch(f"{api.root}/AR/ARCustomers('C2001')", data=dumps({"City": "Tacoma"}), timeout=5)
    assert patched.status_code == 204
    assert _get(api, "AR/ARCustomers('C2001')").json()["City"] == "Tacoma"


def _receipt_batch(applied, amount, reference="PT-1", customer="C1001"):
    return {
        "BatchRecordType": "CA",
        "BankCode": "PAYTRACE",
        "BatchStatus": "ReadyToPost",
        "ReceiptsAdjustments": [
            {
                "CustomerNumber": customer,
                "CheckReceiptNumber": reference,
                "EntryReference": reference,
                "CustomerReceiptAmount": amount,
                "ReceiptTransactionType": "Receipt",
                "AppliedReceiptsAdjustments": [
                    {"DocumentNumber": number, "CustomerReceiptAmount": value} for number, value in applied
                ],
            }
        ],
    }


def _balance(api, number, field="DocumentNumber"):
    feed = _decimal_json(_get(api, "AR/ARPostedDocuments", **{"$filter": f"{field} eq '{number}'"}))
    return feed["value"][0]["CustomerCurrencyAmountDue"]


def test_receipt_batch_posts_and_reduces_balances(api):
    created = _post(
        api,
        "AR/ARReceiptAndAdjustmentBatches",
        _receipt_batch([("INV-5001", Decimal("1000.10"))], Decimal("1100.10")),
    )
    assert created.status_code == 201, created.text
    batch = _decimal_json(created)
    assert batch["BatchNumber"] == 1
    assert batch["ReceiptsAdjustments"][0]["CustomerUnappliedAmount"] == Decimal("100.00")
    assert _balance(api, "INV-5001") == Decimal("1250.00")  # entered, not posted
    over = _post(
        api,
        "AR/ARReceiptAndAdjustmentBatches",
        _receipt_batch([("INV-5001", Decimal("250.00"))], Decimal("250"), "PT-2"),
    )
    assert over.status_code == 409  # the unposted batch already holds 1000.10 of it
    assert _error(over)[0] == "FieldInvalid"
    entry = _get(api, "AR/ARReceiptAndAdjustmentBatches(BatchRecordType='CA',BatchNumber=1)").json()
    assert entry["BatchStatus"] == "ReadyToPost"
    bad_action = _post(api, "AR/ARPostReceiptsAndAdjustments('$run')", {})
    assert bad_action.status_code == 400
    assert _error(bad_action)[0] == "InvalidAction"
    template = _post(api, "AR/ARPostReceiptsAndAdjustments('$template')", {}).json()
    assert template["BatchType"] == "CA"
    posted = _post(
        api,
        "AR/ARPostReceiptsAndAdjustments('$process')",
        {"BatchType": "CA", "PostAllBatches": "Postallbatches"},
    )
    assert (posted.status_code, posted.content) == (204, b""), posted.text  # $process answers no body
    assert _balance(api, "INV-5001") == Decimal("249.90")
    # The remainder sits on account as unapplied cash, a document of its own carrying the receipt's number.
    assert _balance(api, "PT-1", field="CheckReceiptNumber") == Decimal("-100.00")
    receipts = _get(api, "AR/ARPostedReceipts", **{"$filter": "CheckReceiptNumber eq 'PT-1'"}).json()["value"]
    assert receipts[0]["BatchNumber"] == 1


def test_receipt_needs_known_customer_and_matching_currency(api):
    unknown = _post(api, "AR/ARReceiptAndAdjustmentBatches", _receipt_batch([], Decimal("5"), customer="ZZZ"))
    assert unknown.status_code == 409
    assert _error(unknown) == ("FieldInvalid", 'Customer number "ZZZ" does not exist.')
    cad = _post(
        api,
        "AR/ARReceiptAndAdjustmentBatches",
        _receipt_batch([("INV-5008", Decimal("5"))], Decimal("5"), customer="C1006"),
    )
    assert cad.status_code == 409
    assert "currency" in _error(cad)[1]


def test_sales_order_commits_stock_and_refuses_unknown_items(api):
    order = {
        "CustomerNumber": "C1002",
        "OrderReference": "WEB-77",
        "OrderDetails": [{"LineType": "Item", "Item": "STOVE-1", "Location": "WH1", "QuantityOrdered": 3}],
    }
    created = _post(api, "OE/OEOrders", order)
    assert created.status_code == 201, created.text
    assert created.json()["OrderNumber"].startswith("ORD")
    assert ItemLocation.objects.get(item__number="STOVE-1").committed == Decimal("3")
    unknown = _post(
        api,
        "OE/OEOrders",
        {**order, "OrderDetails": [{"Item": "NOPE", "Location": "WH1", "QuantityOrdered": 1}]},
    )
    assert unknown.status_code == 409
    assert _error(unknown) == ("FieldInvalid", 'Item "NOPE" does not exist.')
    found = _get(api, "OE/OEOrders", **{"$filter": "OrderReference eq 'WEB-77'", "$top": "1"}).json()["value"]
    assert len(found) == 1
    assert _post(api, "OE/OEOrders", order).status_code == 201  # the Web API has no idempotency of its own
    twice = _get(api, "OE/OEOrders", **{"$filter": "OrderReference eq 'WEB-77'"}).json()["value"]
    assert [row["OrderNumber"] for row in twice] == [found[0]["OrderNumber"], "ORD000000000002"]
    assert ItemLocation.objects.get(item__number="STOVE-1").committed == Decimal("6")


def test_journal_batches_enter_and_post(api):
    lines = [
        {"AccountNumber": "1000", "Amount": Decimal("12.50")},
        {"AccountNumber": "6100", "Amount": Decimal("-12.50")},
    ]
    batch = {
        "Description": "fees",
        "Status": "ReadyToPost",  # GL batches carry Status (Sage's GLJournalBatches sample)
        "JournalHeaders": [{"JournalDetails": lines}],
    }
    created = _post(api, "GL/GLJournalBatches", batch)
    assert created.status_code == 201, created.text
    detail = created.json()["JournalHeaders"][0]["JournalDetails"][1]
    assert (detail["BatchNumber"], detail["EntryNumber"], detail["TransactionNumber"]) == (
        "000001",
        "00001",
        "0000000040",
    )
    posted = _post(api, "GL/GLPostJournal('$process')", {"PostAllBatches": "Postallbatches"})
    assert posted.status_code == 204, posted.text
    assert _get(api, "GL/GLJournalBatches('000001')").json()["Status"] == "Posted"
    ar_name = _post(api, "GL/GLJournalBatches", {**batch, "BatchStatus": "Open"})
    assert ar_name.status_code == 400  # BatchStatus is an AR batch property, not a GL one
    assert _error(ar_name)[0] == "InvalidPayload"


def test_faults_answer_with_the_servers_own_errors(api):
    FaultProfile.objects.create(system=System.SAGE_300, account=COMPANY, error_next=2)
    unavailable = _get(api, "AR/ARCustomers")
    assert unavailable.status_code == 503
    assert unavailable.headers["Content-Type"].startswith("text/plain")
    Company.objects.filter(code=COMPANY).update(fault_status=429)
    busy = _get(api, "AR/ARCustomers")
    assert busy.status_code == 429
    assert _error(busy)[0] == "TooManyRequests"
    assert _get(api, "AR/ARCustomers").status_code == 200


def _patch(api, path, body):
    return api.patch(f"{api.root}/{path}", data=dumps(body), timeout=5)


def test_batch_patch_refuses_what_it_cannot_apply(api):
    created = _decimal_json(
        _post(
            api,
            "AR/ARReceiptAndAdjustmentBatches",
            {**_receipt_batch([("INV-5002", Decimal("10"))], Decimal("10")), "BatchStatus": "Open"},
        )
    )
    key = f"AR/ARReceiptAndAdjustmentBatches(BatchRecordType='CA',BatchNumber={created['BatchNumber']})"
    mismatched = _patch(api, key, {"BatchNumber": 99, "BatchStatus": "ReadyToPost"})
    assert (mismatched.status_code, _error(mismatched)[0]) == (400, "InvalidPayload")
    entries = _patch(api, key, {"ReceiptsAdjustments": []})
    assert (entries.status_code, _error(entries)[0]) == (400, "InvalidPayload")
    status = _patch(api, key, {"BatchStatus": "Posted"})  # only the server posts
    assert (status.status_code, _error(status)[0]) == (409, "FieldInvalid")
    half_key = _patch(
        api, f"AR/ARReceiptAndAdjustmentBatches({created['BatchNumber']})", {"BatchStatus": "ReadyToPost"}
    )
    assert (half_key.status_code, _error(half_key)[0]) == (400, "InvalidEntityKey")
    assert _patch(api, key, {"BatchStatus": "ReadyToPost", "Description": "card receipts"}).status_code == 204
    batch = _get(api, key).json()
    assert (batch["BatchStatus"], batch["Description"]) == ("ReadyToPost", "card receipts")
    _post(
        api,
        "AR/ARPostReceiptsAndAdjustments('$process')",
        {"BatchType": "CA", "PostAllBatches": "Postallbatches"},
    )
    posted = _patch(api, key, {"BatchStatus": "Open"})
    assert (posted.status_code, _error(posted)[0]) == (409, "RecordInvalid")
    missing = _patch(api, "AR/ARInvoiceBatches(404)", {"BatchStatus": "ReadyToPost"})
    assert (missing.status_code, _error(missing)[0]) == (404, "RecordNotFound")


def test_customer_put_and_delete(api):
    optional = {"CustomerNumber": "C3001", "OptionalField": "UPSZONE", "Value": "RED"}
    created = _post(
        api, "AR/ARCustomers", {"CustomerNumber": "C3001", "CustomerOptionalFieldValues": [optional]}
    )
    assert created.status_code == 201
    put = api.put(f"{api.root}/AR/ARCustomers('C3001')", data=dumps({"City": "Boise"}), timeout=5)
    assert (put.status_code, put.content) == (204, b"")
    record = _get(api, "AR/ARCustomers('C3001')").json()
    assert (record["City"], record["CustomerOptionalFieldValues"]) == ("Boise", [])  # PUT purges details
    assert api.delete(f"{api.root}/AR/ARCustomers('C3001')", timeout=5).status_code == 204
    assert _get(api, "AR/ARCustomers('C3001')").status_code == 404
    with_documents = api.delete(f"{api.root}/AR/ARCustomers('C1001')", timeout=5)
    assert (with_documents.status_code, _error(with_documents)[0]) == (409, "RecordInvalid")
    missing = api.delete(f"{api.root}/AR/ARCustomers('NOPE')", timeout=5)
    assert (missing.status_code, _error(missing)[0]) == (404, "RecordNotFound")


def test_lookups_are_master_data(api):
    assert [row["LocationKey"] for row in _get(api, "IC/ICLocations").json()["value"]] == ["WH1"]
    code = {"DistributionCodeKey": "PAYSALE", "Description": "Card sales", "RevenueAccount": "4000"}
    assert _post(api, "AR/ARDistributionCodes", code).status_code == 201
    duplicate = _post(api, "AR/ARDistributionCodes", code)
    assert (duplicate.status_code, _error(duplicate)[0]) == (409, "RecordDuplicate")
    keyless = _post(api, "AR/ARDistributionCodes", {"Description": "no key"})
    assert (keyless.status_code, _error(keyless)[0]) == (409, "FieldInvalid")
    assert _patch(api, "AR/ARDistributionCodes('PAYSALE')", {"Description": "Card"}).status_code == 204
    assert _get(api, "AR/ARDistributionCodes('PAYSALE')").json()["Description"] == "Card"
    assert api.delete(f"{api.root}/AR/ARDistributionCodes('PAYSALE')", timeout=5).status_code == 204
    assert _get(api, "AR/ARDistributionCodes('PAYSALE')").status_code == 404


def test_lookups_are_checked_where_documents_name_them(api):
    invoice = {
        "Invoices": [
            {
                "CustomerNumber": "C1001",
                "InvoiceDetails": [{"DistributionCode": "NOPE", "ExtendedAmountWithTIP": 5}],
            }
        ]
    }
    unknown_code = _post(api, "AR/ARInvoiceBatches", invoice)
    assert _error(unknown_code) == ("FieldInvalid", 'Distribution code "NOPE" does not exist.')
    order = {
        "CustomerNumber": "C1002",
        "OrderDetails": [
            {"LineType": "Miscellaneous", "MiscellaneousChargesCode": "HC", "ExtendedAmount": 5}
        ],
    }
    unknown_charge = _post(api, "OE/OEOrders", order)
    assert _error(unknown_charge) == ("FieldInvalid", 'Miscellaneous charge "HC" does not exist in USD.')


def test_an_answer_can_hold_no_name_the_artefact_lacks():
    from simulators.sage300.schema import shape_of

    documents = shape_of("AR", "ARPostedDocuments")
    assert documents.key == ("CustomerNumber", "DocumentNumber")
    assert "CustomerCurrencyAmountDue" in documents.types
    with pytest.raises(ValueError, match="CurrentBalanceInCustomerCurrency"):
        documents.complete({"CurrentBalanceInCustomerCurrency": Decimal("1")})


def test_customer_optional_fields_patch_by_key_and_keep_the_others(api):
    key = "AR/ARCustomers('C1001')"

    def fields():
        rows = _get(api, key).json().get("CustomerOptionalFieldValues") or []
        return {row["OptionalField"]: row["Value"] for row in rows}

    def row(field, value):
        return {"CustomerNumber": "C1001", "OptionalField": field, "Value": value}

    assert _patch(api, key, {"CustomerOptionalFieldValues": [row("REGION", "WEST")]}).status_code == 204
    assert (
        _patch(api, key, {"CustomerOptionalFieldValues": [row("PAYSTATUS", "PT-1 Failed")]}).status_code
        == 204
    )
    assert (
        _patch(api, key, {"CustomerOptionalFieldValues": [row("PAYSTATUS", "PT-2 Failed")]}).status_code
        == 204
    )
    assert fields() == {"REGION": "WEST", "PAYSTATUS": "PT-2 Failed"}
    missing = _patch(api, "AR/ARCustomers('NOPE')", {"CustomerOptionalFieldValues": [row("PAYSTATUS", "x")]})
    assert missing.status_code == 404
