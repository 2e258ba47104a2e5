"""The X3 sandbox's wire shapes and quirks, spoken to over real HTTP without the connector."""

import json
from decimal import Decimal

import pytest
import requests

from integrations.models import System
from integrations.sage.base import ErpTransientError
from integrations.sage.x3.adxml import AdxObject, XmlRefused, adx_build, adx_parse
from integrations.sage.x3.client import ERRORS
from integrations.sage.x3.soap import SOAP_PATH, CallContext, soap_envelope, soap_result_parse
from simulators.models import FaultProfile
from simulators.x3.models import X3Customer, X3Invoice, X3Stock
from simulators.x3.services import sandbox_x3_folder_ensure, sandbox_x3_seed

# Flushing only the sandbox's tables (and auth's, which its post-migrate needs) between live-server
# tests keeps this file fast; nothing here touches the other apps.
pytestmark = pytest.mark.django_db(
    transaction=True,
    available_apps=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "simulators",
        "simulators.x3",
    ],
)

AUTH = ("WSUSER", "x3-secret")
CONTEXT = CallContext(code_lang="ENG", pool_alias="SEED")


@pytest.fixture
def x3_url(sandbox_base) -> str:
    sandbox_x3_folder_ensure(folder="SEED", pool_alias="SEED", username="WSUSER", password="x3-secret")
    sandbox_x3_seed(folder="SEED")
    return f"{sandbox_base}/x3"


def _soap(x3_url: str, operation: str, parts: dict, *, headers=None, auth=AUTH) -> requests.Response:
    body = soap_envelope(operation=operation, context=CONTEXT, parts=parts)
    sent = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": ""} if headers is None else headers
    return requests.post(f"{x3_url}/{SOAP_PATH}", data=body.encode(), headers=sent, auth=auth, timeout=5)


def _api1(x3_url: str, query: str, *, auth=AUTH) -> requests.Response:
    return requests.get(f"{x3_url}/api1/x3/erp/SEED/{query}", auth=auth, timeout=5)


def test_seed_is_idempotent_and_keeps_state(x3_url):
    X3Invoice.objects.filter(num="INV-5001").update(paycur=Decimal("100.00"))
    sandbox_x3_seed(folder="SEED")
    assert X3Customer.objects.count() == 6
    assert X3Invoice.objects.get(num="INV-5001").paycur == Decimal("100.00")
    assert X3Stock.objects.get(item__itmref="TENT-2P", stofcy="WH1").qtystu == 40


def test_missing_soapaction_is_a_500_with_diagnoses_and_the_connector_calls_it_transient(x3_url):
    response = _soap(x3_url, "query", {"publicName": "BPC", "objectKeys": [], "listSize": 1}, headers={})
    assert response.status_code == 500
    assert response.json()["$diagnoses"][0]["$message"] == "Header 'soapAction' is missing"
    mapped = ERRORS.from_response(response, write=True)
    assert isinstance(mapped, ErpTransientError) and "soapAction" in mapped.message


def test_soap_needs_basic_auth(x3_url):
    response = _soap(x3_url, "query", {"publicName": "BPC", "objectKeys": [], "listSize": 1}, auth=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_soap_business_errors_are_http_200_status_0_with_typed_messages(x3_url):
    duplicate = AdxObject(groups={"BPC0_1": {"BPCNUM": "C1001"}, "BPRC_1": {"BPRNAM": ["Acme again"]}})
    response = _soap(x3_url, "save", {"publicName": "BPC", "objectXml": adx_build(duplicate)})
    assert response.status_code == 200
    result = soap_result_parse(response.text)
    assert result.status == 0
    assert [(m.type, m.message) for m in result.messages] == [(3, "Customer C1001 : Record already exists")]

    unknown = _soap(x3_url, "read", {"publicName": "ZZZ", "objectKeys": [("NUM", "1")]})
    assert soap_result_parse(unknown.text).texts(3) == ["Web service ZZZ is not published"]


def test_soap_read_returns_result_xml_with_groups_tables_and_adxtec(x3_url):
    response = _soap(x3_url, "read", {"publicName": "BPC", "objectKeys": [("BPCNUM", "C1006")]})
    result = soap_result_parse(response.text)
    assert result.ok
    assert result.result_xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<RESULT>')
    obj = result.obj()
    assert obj.groups["BPRC_1"]["BPRNAM"] == ["Fjord Design Studio", ""]  # a LST of dimension 2
    assert obj.groups["BPRC_1"]["CUR"] == "CAD"
    assert obj.tables["BPAC_1"][0]["CTY"] == "Vancouver"
    assert "WW_MODSTAMP" in obj.groups["ADXTEC"]


def test_import_with_unknown_template_and_malformed_records(x3_url):
    inputs = AdxObject(groups={"GRP1": {"I_MODIMP": "ZZZ", "I_RECORDSEP": "|", "I_FILE": "END"}})
    result = soap_result_parse(
        _soap(x3_url, "run", {"publicName": "AOWSIMPORT", "inputXml": adx_build(inputs)}).text
    )
    assert result.status == 0 and "ZZZ" in result.texts(3)[0]

    file_text = (
        "H;CARD;C1004;20261120;USD;5.00;R-1;;|X;junk|H;CARD;C1004;20261120;USD;5.00;R-2;;|L;;;5.00|END"
    )
    inputs = AdxObject(groups={"GRP1": {"I_MODIMP": "PAY", "I_RECORDSEP": "|", "I_FILE": file_text}})
    result = soap_result_parse(
        _soap(x3_url, "run", {"publicName": "AOWSIMPORT", "inputXml": adx_build(inputs)}).text
    )
    outputs = result.obj().groups["GRP2"]
    assert result.status == 1 and outputs["O_STATUS"] == "0" and outputs["O_REQNUM"].startswith("IMP")
    log = outputs["O_MESSA"].splitlines()
    assert log[0] == "Record 1 : Error : Unknown record type 'X'"
    assert log[1].startswith("Record 2 : Document PAY") and log[1].endswith("created")


def test_api1_feed_shape_paging_and_details(x3_url):
    first = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query&count=4&orderBy=BPCNUM desc")
    assert first.status_code == 200
    page = first.json()
    assert page["$itemsPerPage"] == 4 and page["$totalResults"] == 6 and page["$startIndex"] == 1
    assert [r["BPCNUM"] for r in page["$resources"]] == ["C1006", "C1005", "C1004", "C1003"]
    entry = page["$resources"][0]
    assert {"$uuid", "$etag", "$key", "$url"} <= set(entry) and entry["$key"] == "C1006"
    second = requests.get(page["$links"]["$next"]["$url"], auth=AUTH, timeout=5).json()
    assert [r["BPCNUM"] for r in second["$resources"]] == ["C1002", "C1001"]
    assert "$next" not in second["$links"]

    details = requests.get(entry["$url"], auth=AUTH, timeout=5)
    assert details.json()["$uuid"] == entry["$uuid"] and details.json()["BPCNAM"] == "Fjord Design Studio"
    assert _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query").json()["$itemsPerPage"] == 20
    missing = _api1(x3_url, "BPCUSTOMER('NOPE')?representation=BPCUSTOMER.$details")
    assert missing.status_code == 404 and missing.json()["$diagnoses"][0]["$severity"] == "error"


def test_api1_decimals_are_json_numbers_and_stock_keys_are_composite(x3_url):
    invoice = _api1(x3_url, "SINVOICE('INV-5002')?representation=SINVOICE.$details")
    body = json.loads(invoice.text, parse_float=Decimal)
    assert body["AMTATI"] == Decimal("310.40") and body["OPNCUR"] == Decimal("310.40")
    stock = _api1(x3_url, "STOCK('WH1~TENT-2P')?representation=STOCK.$details").json()
    assert stock["$key"] == "WH1~TENT-2P" and stock["QTYSTU"] == 40


WHERE_CASES = [
    ("left(BPCNAM,4) eq 'Acme'", ["C1001"]),
    ("CUR eq 'USD' and (CTY eq 'Boston' or CTY eq 'Chicago')", ["C1004", "C1005"]),
    ("BPCNAM eq 'Birch & Maple Cafe'", ["C1002"]),
    ("BPCNUM ne 'C1001' and CRY eq 'CA'", ["C1006"]),
    ("BPCNAM eq 'Nobody''s'", []),
]


def test_api1_where_expressions(x3_url):
    # One live-server test for all cases: each transactional test pays a database flush.
    for where, expected in WHERE_CASES:
        quoted = requests.utils.quote(where, safe="'")
        response = _api1(x3_url, f"BPCUSTOMER?representation=BPCUSTOMER.$query&where={quoted}")
        assert response.status_code == 200, (where, response.text)
        assert [r["BPCNUM"] for r in response.json()["$resources"]] == expected, where


def test_api1_where_quirks(x3_url):
    unknown = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query&where=NOPE eq 'x'")
    assert unknown.status_code == 500
    assert unknown.json()["$diagnoses"][0]["$message"] == "Property NOPE does not exist"
    encoded = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query&where=BPCNUM%20eq%20%27C1001%27")
    assert encoded.status_code == 400
    no_facet = _api1(x3_url, "BPCUSTOMER")
    assert no_facet.status_code == 400
    assert _api1(x3_url, "NOCLASS?representation=NOCLASS.$query").status_code == 404
    assert _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query", auth=None).status_code == 401


def test_api1_pages_by_key_in_key_order_as_sage_documents(x3_url):
    first = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query&count=4").json()
    assert [r["BPCNUM"] for r in first["$resources"]] == ["C1001", "C1002", "C1003", "C1004"]
    assert "key=gt.C1004" in first["$links"]["$next"]["$url"]
    assert "startIndex" not in first["$links"]["$next"]["$url"]
    second = requests.get(first["$links"]["$next"]["$url"], auth=AUTH, timeout=5).json()
    assert [r["BPCNUM"] for r in second["$resources"]] == ["C1005", "C1006"]
    assert "$next" not in second["$links"]

    after = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query&key=ge.C1005").json()
    assert [r["BPCNUM"] for r in after["$resources"]] == ["C1005", "C1006"]
    # A composite key compares part by part: WH1~TENT-2P is after WH1~LAMP-LED.
    stock = _api1(x3_url, "STOCK?representation=STOCK.$query&key=gt.WH1~LAMP-LED").json()
    keys = [r["$key"] for r in stock["$resources"]]
    assert keys and all(key > "WH1~LAMP-LED" for key in keys) and "WH1~TENT-2P" in keys
    bad = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query&key=gt.C1~C2")
    assert bad.status_code == 500 and "Invalid key condition" in bad.json()["$diagnoses"][0]["$message"]


def test_soap_keys_may_come_by_reference_as_rpc_encoded_clients_send_them(x3_url):
    envelope = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:wss="http://www.adonix.com/WSS"><soapenv:Body>
<wss:read soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<callContext href="#ctx"/><publicName xsi:type="xsd:string">BPC</publicName>
<objectKeys xsi:type="soapenc:Array" soapenc:arrayType="wss:CAdxParamKeyValue[1]">
<objectKeys href="#key0"/></objectKeys></wss:read>
<multiRef id="key0" soapenc:root="0" xsi:type="wss:CAdxParamKeyValue">
<key xsi:type="xsd:string">BPCNUM</key><value xsi:type="xsd:string">C1006</value></multiRef>
<multiRef id="ctx" soapenc:root="0" xsi:type="wss:CAdxCallContext">
<codeLang xsi:type="xsd:string">ENG</codeLang><poolAlias xsi:type="xsd:string">SEED</poolAlias></multiRef>
</soapenv:Body></soapenv:Envelope>"""
    response = requests.post(
        f"{x3_url}/{SOAP_PATH}", data=envelope.encode(), headers={"SOAPAction": ""}, auth=AUTH, timeout=5
    )
    result = soap_result_parse(response.text)
    assert result.ok and result.obj().groups["BPC0_1"]["BPCNUM"] == "C1006"


def test_a_dtd_inside_the_object_xml_is_refused_by_the_simulators_own_parser(x3_url):
    hostile = (
        "<!--"
        + "x" * 4000
        + '--><!DOCTYPE PARAM [<!ENTITY a "aaaa">]><PARAM><GRP ID="BPRC_1">&a;</GRP></PARAM>'
    )
    response = _soap(x3_url, "save", {"publicName": "BPC", "objectXml": hostile})
    assert response.status_code == 500
    assert "DTD or entity declaration is refused" in response.json()["$diagnoses"][0]["$message"]
    assert X3Customer.objects.count() == 6


def test_api1_fault_is_503_transient(x3_url):
    FaultProfile.objects.create(system=System.SAGE_X3, account="SEED", error_next=1)
    response = _api1(x3_url, "BPCUSTOMER?representation=BPCUSTOMER.$query")
    assert response.status_code == 503
    assert response.json()["$diagnoses"][0]["$severity"] == "transient"


@pytest.mark.parametrize("padding", ["", "<!--" + "x" * 4000 + "-->"])  # the old check read 2,048 chars
def test_xml_with_a_dtd_is_refused(x3_url, padding):
    body = f'<?xml version="1.0"?>{padding}<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    response = requests.post(
        f"{x3_url}/{SOAP_PATH}", data=body, headers={"SOAPAction": ""}, auth=AUTH, timeout=5
    )
    # Syracuse's own answer to a request it cannot read: HTTP 500 with a diagnosis, as simulated.
    assert response.status_code == 500
    assert "DTD or entity declaration is refused" in response.json()["$diagnoses"][0]["$message"]
    with pytest.raises(XmlRefused):
        adx_parse(f"{padding}<!DOCTYPE x><PARAM/>")


def test_modify_on_a_sales_invoice_writes_its_comment_and_nothing_else(x3_url):
    keys = [("NUM", "INV-5001")]
    comment = AdxObject(groups={"SIH0_1": {"INVDES": "PT-7 Payment Failed: declined"}})
    modified = soap_result_parse(
        _soap(
            x3_url, "modify", {"publicName": "SIH", "objectKeys": keys, "objectXml": adx_build(comment)}
        ).text
    )
    assert modified.ok and modified.obj().value("SIH0_1", "INVDES") == "PT-7 Payment Failed: declined"
    read = soap_result_parse(_soap(x3_url, "read", {"publicName": "SIH", "objectKeys": keys}).text)
    assert read.obj().value("SIH0_1", "INVDES") == "PT-7 Payment Failed: declined"

    amount = AdxObject(groups={"SIH0_1": {"CUR": "EUR", "INVDES": "x"}})
    refused = _soap(
        x3_url, "modify", {"publicName": "SIH", "objectKeys": keys, "objectXml": adx_build(amount)}
    )
    assert soap_result_parse(refused.text).texts(3) == ["Invoice INV-5001 : CUR : Modification not allowed"]
    unknown = _soap(
        x3_url,
        "modify",
        {"publicName": "SIH", "objectKeys": [("NUM", "NOPE")], "objectXml": adx_build(comment)},
    )
    assert soap_result_parse(unknown.text).texts(3) == ["Invoice NOPE : Record does not exist"]
