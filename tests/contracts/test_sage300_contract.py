"""Sage 300 contract, replayed against our simulator over real HTTP: Sage's own sample payloads, its
sample integration, its Postman collection and the Developer Reference's examples must be accepted, and
every answer must have the documented shape (an AR record: exactly its EntityType's properties, values
of their Edm types; a GL, IC, OE or BK answer: the names Sage's samples use). Verbs the Endpoint
Reference does not list for a resource must be refused.

The simulator's company holds the master data Sage's samples name (customers 1200, 1400, 1500, bank
SEATAC, distribution codes CACCSE and DESK, items A1-105/0 and A1-103/0 at location 1, miscellaneous
charge HC...), and its fiscal calendar starts in 2019 because the samples post in 2020."""

import json
from datetime import date
from decimal import Decimal

import pytest
import requests

from simulators.sage300.models import (
    Bank,
    Company,
    Counter,
    Customer,
    GLAccount,
    Item,
    ItemLocation,
    LookupRecord,
    OpenDocument,
)
from simulators.sage300.services import sandbox_sage300_company_ensure
from tests.contracts.sage300_artefacts import (
    OPERATORS,
    UNPROVEN,
    body_names,
    document,
    edmx,
    edmx_problems,
    postman_requests,
    sample_names,
    samples,
)
from tests.simulators.test_sage300 import SAGE300_DB

pytestmark = SAGE300_DB

PASSWORD = "Sample-300"
PRINTED_ROOT = "http://localhost/Sage300WebApi/v1.0/-/SAMLTD"
ENDPOINTS = document("endpoint_reference")["endpoints"]
EXAMPLES = document("developer_reference_examples")
FLOW = document("sample_integration_flow")
# Fields an answer may add to the samples' names: documented answers (SampleIntegration reads them).
ANSWERED = {
    "OEOrders": {step for flow in FLOW["flow"] for step in flow.get("response_fields_read", [])},
}


def _sample_world() -> Company:
    company = sandbox_sage300_company_ensure(company="SAMLTD", password=PASSWORD)
    Company.objects.filter(pk=company.pk).update(first_fiscal_year=2019)
    company.refresh_from_db()
    for number in ("1000", "1020", "4030", "4200", "6000", "6000100", "9999"):
        GLAccount.objects.create(company=company, number=number, description=f"Account {number}")
    Bank.objects.create(company=company, code="SEATAC", description="Seattle Tacoma Bank", gl_account="1020")
    for number in ("1100", "1200", "1400", "1500", "BARMART"):
        Customer.objects.create(
            company=company, number=number, name=f"Customer {number}", date_last_maintained=date(2020, 1, 1)
        )
    lookups = {
        "AR/ARDistributionCodes": [
            {"DistributionCodeKey": code, "RevenueAccount": "4030"} for code in ("CACCSE", "DESK")
        ],
        "IC/ICLocations": [{"LocationKey": "1", "Name": "Seattle Warehouse", "LocationType": "Physical"}],
        "OE/OEMiscellaneousCharges": [{"Currency": "USD", "MiscellaneousChargeCode": "HC", "Amount": 20}],
    }
    for resource, payloads in lookups.items():
        for payload in payloads:
            key = "|".join(
                str(value)
                for name, value in payload.items()
                if name.endswith(("Key", "Currency", "ChargeCode"))
            )
            LookupRecord.objects.create(company=company, resource=resource, key=key, payload=payload)
    for number in ("A1-105/0", "A1-103/0"):
        item = Item.objects.create(
            company=company, number=number, description=number, unit_price=Decimal("12.50")
        )
        ItemLocation.objects.create(item=item, location="1", on_hand=Decimal("100"))
    OpenDocument.objects.create(
        company=company,
        customer_number="1200",
        document_number="TR-INV-003",
        document_type="Invoice",
        document_date=date(2020, 10, 1),
        original_amount=Decimal("100"),
        balance=Decimal("60"),
    )
    return company


@pytest.fixture
def api(sandbox_base):
    company = _sample_world()
    session = requests.Session()
    session.auth = ("ADMIN", PASSWORD)
    session.headers["Content-Type"] = "application/json"
    session.root = f"{sandbox_base}/sage300/Sage300WebApi/v1.0/-/{company.code}"
    return session


def _call(api, method, path, body=None, **params):
    data = json.dumps(body) if body is not None else None
    return api.request(method, f"{api.root}/{path}", data=data, params=params, timeout=10)


def _json(response):
    return json.loads(response.text, parse_float=Decimal)


def _resource(stem):
    resource = stem.split("_")[0]
    return f"{resource[:2]}/{resource}", resource


def _answer_problems(resource, answer):
    """How an answer departs from the artefacts: an AR record against its EntityType; any other against
    the names Sage's samples use for the resource (plus documented answers and the listed unproven)."""
    if resource in edmx():
        return edmx_problems(answer, resource)
    allowed = sample_names(resource) | ANSWERED.get(resource, set()) | set(UNPROVEN.get(resource, {}))
    return sorted(body_names(answer) - allowed)


def _posted_sample(api, stem):
    created = _call(api, "POST", _resource(stem)[0], samples()[stem])
    assert created.status_code == 201, created.text
    return _json(created)


@pytest.mark.parametrize("stem", sorted(samples()))
def test_every_sage_sample_payload_is_accepted_and_answered_in_shape(api, stem):
    path, resource = _resource(stem)
    created = _call(api, "POST", path, samples()[stem])
    assert created.status_code == 201, created.text
    answer = _json(created)
    assert _answer_problems(resource, answer) == []
    assert body_names(samples()[stem]) <= body_names(answer)  # what was accepted is answered back
    feed = _json(_call(api, "GET", path))
    assert feed["value"], path
    for record in feed["value"]:
        assert _answer_problems(resource, record) == []


def test_customers_keep_every_documented_field_they_accept(api):
    sample = samples()["ARCustomers"]
    assert _call(api, "POST", "AR/ARCustomers", sample).status_code == 201
    record = _json(_call(api, "GET", "AR/ARCustomers('1501')"))
    assert {
        name: record[name] for name in sample
    } == sample  # CreditLimitCustomerCurrency, Terms, AccountSet...
    assert record["CreditLimitCustomerCurrency"] == 12345
    replaced = _call(
        api, "PUT", "AR/ARCustomers('1501')", {"CustomerOptionalFieldValues": [], "ShortName": "Renamed"}
    )
    assert (replaced.status_code, replaced.content) == (204, b"")
    assert _json(_call(api, "GET", "AR/ARCustomers('1501')"))["ShortName"] == "Renamed"


def test_a_bank_account_number_is_accepted_but_never_kept(api):
    assert _call(api, "POST", "BK/BKBanks", samples()["BKBanks"]).status_code == 201
    assert _json(_call(api, "GET", "BK/BKBanks"))["value"][0]["BankAccountNumber"] == ""
    assert "902-758801" not in json.dumps(list(Bank.objects.values()), default=str)


def test_posted_documents_and_receipts_have_the_metadata_shape(api):
    """Sage's invoice batch posted: AROBL answers PostedDocument records, the open balance in
    CustomerCurrencyAmountDue; the prepayment sample posted: ARRRH answers PostedReceipt records."""
    batch = _json(_call(api, "POST", "AR/ARInvoiceBatches", samples()["ARInvoiceBatches"]))
    number = batch["BatchNumber"]
    patched = _call(
        api, "PATCH", f"AR/ARInvoiceBatches({number})", {"BatchNumber": number, "BatchStatus": "ReadyToPost"}
    )
    assert (patched.status_code, patched.content) == (204, b"")
    posted = _call(api, "POST", "AR/ARPostInvoices('$process')", {"PostAllBatches": "Postallbatches"})
    assert (posted.status_code, posted.content) == (204, b"")  # $process: no response payload
    documents = _json(_call(api, "GET", "AR/ARPostedDocuments", **{"$filter": "CustomerNumber eq '1400'"}))[
        "value"
    ]
    for record in documents:
        assert edmx_problems(record, "ARPostedDocuments") == []
    assert {record["DocumentType"]: record["CustomerCurrencyAmountDue"] for record in documents} == {
        "Invoice": 200,
        "DebitNote": 20,
        "CreditNote": -30,
        "Interest": 40,  # the sample's DocumentType "4", TransactionType InterestCharge
    }
    assert all(
        record["CustomerCurrencyInvoiceAmount"] == record["CustomerCurrencyAmountDue"] for record in documents
    )
    key = f"AR/ARPostedDocuments(CustomerNumber='1400',DocumentNumber='{documents[0]['DocumentNumber']}')"
    assert _json(_call(api, "GET", key))["DocumentNumber"] == documents[0]["DocumentNumber"]

    receipts = _posted_sample(api, "ARReceiptAndAdjustmentBatches_Prepayment")
    key = f"AR/ARReceiptAndAdjustmentBatches(BatchRecordType='CA',BatchNumber={receipts['BatchNumber']})"
    assert _call(api, "PATCH", key, {"BatchStatus": "ReadyToPost"}).status_code == 204  # the composite key
    assert (
        _call(
            api,
            "POST",
            "AR/ARPostReceiptsAndAdjustments('$process')",
            {"BatchType": "CA", "PostAllBatches": "Postallbatches"},
        ).status_code
        == 204
    )
    [receipt] = _json(_call(api, "GET", "AR/ARPostedReceipts"))["value"]
    assert edmx_problems(receipt, "ARPostedReceipts") == []
    assert (receipt["BankCode"], receipt["CustomerNumber"], receipt["BankReceiptAmount"]) == (
        "SEATAC",
        "1500",
        22,
    )
    [prepayment] = _json(
        _call(api, "GET", "AR/ARPostedDocuments", **{"$filter": "CustomerNumber eq '1500'"})
    )["value"]
    assert (prepayment["DocumentType"], prepayment["CustomerCurrencyAmountDue"]) == ("Prepayment", -22)


def test_batches_take_patch_as_documented(api):
    """ARInvoiceBatches by number, ARReceiptAndAdjustmentBatches by its composite key (the Developer
    Reference's `(BatchRecordType = 'CA', BatchNumber = 65)`, spaces and all) and GLJournalBatches,
    whose status property is Status."""
    Counter.objects.create(company=Company.objects.get(code="SAMLTD"), name="ar_CA_batch", value=64)
    receipts = _posted_sample(api, "ARReceiptAndAdjustmentBatches_Prepayment")
    assert receipts["BatchNumber"] == 65
    [printed] = [key for key in EXAMPLES["entry_key_examples"] if key.startswith("ARReceipt")]
    assert _call(api, "PATCH", f"AR/{printed}", {"BatchStatus": "ReadyToPost"}).status_code == 204
    assert _json(_call(api, "GET", f"AR/{printed}"))["BatchStatus"] == "ReadyToPost"
    journal = _json(_call(api, "POST", "GL/GLJournalBatches", samples()["GLJournalBatches"]))
    assert journal["Status"] == "Open"
    assert (
        _call(
            api, "PATCH", f"GL/GLJournalBatches('{journal['BatchNumber']}')", {"Status": "ReadyToPost"}
        ).status_code
        == 204
    )
    assert (
        _json(_call(api, "GET", f"GL/GLJournalBatches('{journal['BatchNumber']}')"))["Status"]
        == "ReadyToPost"
    )
    wrong = _call(
        api, "PATCH", f"GL/GLJournalBatches('{journal['BatchNumber']}')", {"BatchStatus": "ReadyToPost"}
    )
    assert (wrong.status_code, _json(wrong)["error"]["code"]) == (400, "InvalidPayload")


def test_process_templates_answer_the_whole_type(api):
    for resource in ("ARPostInvoices", "ARPostReceiptsAndAdjustments"):
        template = _json(_call(api, "POST", f"AR/{resource}('$template')", {}))
        assert edmx_problems(template, resource) == []
        assert "ActionSelector" in template
    unknown = _call(api, "POST", "AR/ARPostInvoices('$run')", {})
    assert (unknown.status_code, _json(unknown)["error"]["code"]) == (400, "InvalidAction")


def test_the_sample_integration_runs_end_to_end(api):
    for step in FLOW["flow"]:
        path = step["url"].removeprefix(PRINTED_ROOT + "/")
        response = _call(api, step["method"], path, step["body"])
        assert response.status_code in (200, 201, 204), (step["step"], response.text)
        if "$process" in path or step["method"] == "PATCH":
            assert response.content == b"", step["step"]
        for field in step.get("response_fields_read", []):
            assert _json(response)[field], (step["step"], field)  # an order shipped and invoiced
    assert _json(_call(api, "GET", "AR/ARCustomers('ZCUST3')"))["ShortName"] == "New Name"


POSTMAN_STATUS = {
    "Create a Record": 201,
    "Update a Record": 204,
    "Delete a Record": 204,
    "Create a Complex Record (Header & Details)": 201,
    "Invoke Process Endpoint": 204,
    "Dealing with Errors": 400,  # its PATCH names a property Customer does not have
}


def test_the_postman_collection_replays(api):
    for request in postman_requests():
        path = request["url"].removeprefix(PRINTED_ROOT + "/")
        body = (
            request["rawModeData"].encode() if request["method"] != "GET" and request["rawModeData"] else None
        )
        response = api.request(request["method"], f"{api.root}/{path}", data=body, timeout=10)
        assert response.status_code == POSTMAN_STATUS.get(request["name"], 200), (
            request["name"],
            response.text,
        )
        if path.endswith("$metadata"):
            assert '<EntityType Name="Customer">' in response.text
        elif response.status_code == 400:
            assert _json(response)["error"]["code"] == "InvalidPayload"
        elif request["method"] == "GET" and "$select" not in path:
            answer = _json(response)
            for record in answer.get("value", [answer]):
                assert (
                    edmx_problems({k: v for k, v in record.items() if k != "@odata.context"}, "ARCustomers")
                    == []
                )
    assert _call(api, "GET", "AR/ARCustomers('Z_POSTMAN')").status_code == 404  # created, updated, deleted


def test_the_developer_reference_queries_and_keys(api):
    queries = [url for url in EXAMPLES["filter_operators"].values()] + list(
        EXAMPLES["filter_functions"].values()
    )
    for printed in queries + EXAMPLES["query_examples"]:
        # As printed, some examples carry typographic quotes; the server's grammar takes straight ones.
        url = printed.replace("\u2018", "'").replace("\u2019", "'")
        response = api.get(f"{api.root}/AR{url}", timeout=10)
        assert response.status_code == 200, (printed, response.text)
    for key in EXAMPLES["entry_key_examples"][:2]:
        assert _call(api, "GET", f"AR/{key}").status_code == 200, key
    missing = _call(api, "GET", "AR/ARCustomers('NOPE')")
    error = EXAMPLES["error_example"]
    assert (missing.status_code, missing.json()) == (error["status"], error["body"])


def test_undocumented_filter_operators_are_refused(api):
    assert {"ge", "not"}.isdisjoint(OPERATORS)
    for expression in ("CreditLimitCustomerCurrency ge 1", "not (City eq 'x')"):
        refused = _call(api, "GET", "AR/ARCustomers", **{"$filter": expression})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "InvalidParameters")


def test_older_servers_count_as_a_string(api):
    Company.objects.filter(code="SAMLTD").update(legacy_odata=True)
    feed = _json(_call(api, "GET", "AR/ARCustomers", **{"$count": "true"}))
    assert feed["odata.count"] == "5"
    assert feed["odata.context"].endswith("/AR/$metadata#ARCustomers")


SERVED = {
    "AR/ARCustomers": "('1200')",
    "AR/ARDistributionCodes": "('CACCSE')",
    "AR/ARInvoiceBatches": "(1)",
    "AR/ARReceiptAndAdjustmentBatches": "(BatchRecordType='CA',BatchNumber=1)",
    "AR/ARPostedDocuments": "(CustomerNumber='1200',DocumentNumber='TR-INV-003')",
    "AR/ARPostedReceipts": "",
    "AR/ARPostInvoices": "",
    "AR/ARPostReceiptsAndAdjustments": "",
    "AR/ARCreateGLBatch": "",
    "OE/OEOrders": "(1)",
    "OE/OEMiscellaneousCharges": "(Currency='USD',MiscellaneousChargeCode='HC')",
    "GL/GLJournalBatches": "('000001')",
    "GL/GLPostJournal": "",
    "IC/ICLocations": "('1')",
    "IC/ICDayEndProcessing": "",
}


@pytest.mark.parametrize("path", sorted(SERVED))
def test_verbs_the_endpoint_reference_does_not_list_are_refused(api, path):
    verbs = set(ENDPOINTS[path.split("/")[1]]["verbs"])
    for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - verbs:
        target = path if method in ("GET", "POST") else path + (SERVED[path] or "('1')")
        refused = _call(api, method, target, {})
        assert (refused.status_code, refused.json()["error"]["code"]) == (405, "MethodNotAllowed"), (
            method,
            target,
        )


def test_resources_in_no_sage_reference_are_not_served(api):
    assert "ICLocationDetails" not in ENDPOINTS
    missing = _call(api, "GET", "IC/ICLocationDetails")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ResourceNotFound")
    assert _call(api, "GET", "OE/$metadata").status_code == 404  # Sage publishes the AR module's only
