"""The Sage 300 simulator over real HTTP, spoken to the way a raw Web API client would."""

import json
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
    ("BalanceDueInCustomerCurrency ge 4350 and BalanceDueInCustomerCurrency lt 4350.01", ["C1003"]),
    ("substringof('Dental', CustomerName)", ["C1003"]),
    ("startswith(CustomerName,'Birch')", ["C1002"]),
    ("startswith(CustomerName,'birch')", []),  # binary collation: case matters
    ("endswith(Email,'.example') and length(CustomerNumber) eq 5", [f"C100{n}" for n in range(1, 7)]),
    ("DateLastMaintained ge datetime'{today}T00:00:00'", [f"C100{n}" for n in range(1, 7)]),
    ("DateLastMaintained gt datetime'{today}T00:00:00'", []),
    ("(CustomerNumber eq 'C1001' or CustomerNumber eq 'C1004') and not (City eq 'Chicago')", ["C1001"]),
    ("CustomerName eq 'Birch & Maple Cafe' or CustomerName eq 'O''Brien'", ["C1002"]),
]


def test_filter_expressions(api):
    today = timezone.now().date().isoformat()
    for expression, expected in FILTERS:
        query = expression.replace("{today}", today)
        response = _get(api, "AR/ARCustomers", **{"$filter": query, "$select": "CustomerNumber"})
        assert response.status_code == 200, (query, response.text)
        assert [row["CustomerNumber"] for row in response.json()["value"]] == expected, query


def test_unsupported_filter_function_is_refused(api):
    response = _get(api, "AR/ARCustomers", **{"$filter": "tolower(CustomerName) eq 'x'"})
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


def _balance(api, number):
    feed = _decimal_json(_get(api, "AR/ARPostedDocuments", **{"$filter": f"DocumentNumber eq '{number}'"}))
    return feed["value"][0]["CurrentBalanceInCustomerCurrency"]


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
        {"BatchType": "CA", "PostBatchFrom": 1, "PostBatchTo": 1},
    )
    assert posted.status_code == 200, posted.text
    assert _balance(api, "INV-5001") == Decimal("249.90")
    assert _balance(api, "PT-1") == Decimal("-100.00")  # the remainder sits on account as unapplied cash
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
        "OrderNumber": "*** NEW ***",
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
        "BatchStatus": "ReadyToPost",
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
    assert posted.status_code == 200, posted.text
    assert _get(api, "GL/GLJournalBatches('000001')").json()["BatchStatus"] == "Posted"


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
