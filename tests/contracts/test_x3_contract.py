"""Sage X3 contract (issue 12): the envelopes of tests/contracts/data/x3/reconstructed, replayed two ways.

(a) Our simulator, sent the same `save` over real HTTP, must answer in the envelope's shape: element names
    and their order, the messages as `multiRef` elements the array points at by `href`, `TYPE` on every
    FLD and LST, `xsi:nil` resultXml on a refusal, the WSDL's operations and technicalInfos.
(b) Served by a replay stub, the envelope must be read right by our connector: X3's refusal text surfaces
    (its errors, not its information messages), a lock or a timeout is transient, an accepted save yields
    the customer it describes.

Both envelopes are RECONSTRUCTED from documented facts, not recorded answers (tests/contracts/data/SOURCES.md
says which fact comes from where): they prove the shapes those facts describe, not X3's exact bytes.
"""

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import requests

from integrations.sage.base import CustomerData, ErpPermanentError, ErpTransientError
from integrations.sage.x3 import X3Connector
from integrations.sage.x3.soap import soap_result_parse
from simulators.x3.services import sandbox_x3_folder_ensure
from tests.contracts.replay import replay_serve
from tests.factories import ConnectionFactory

DATA = Path(__file__).parent / "data" / "x3"
REFUSAL = (DATA / "reconstructed" / "save_refusal_multiref.xml").read_bytes()
ACCEPTED = (DATA / "reconstructed" / "save_success_typed.xml").read_bytes()
WSDL = json.loads((DATA / "wsdl_interface.json").read_text())
SOAP_PATH = WSDL["service"]["address_path"].lstrip("/")
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PREFIXES = {
    "http://schemas.xmlsoap.org/soap/envelope/": "soapenv",
    "http://schemas.xmlsoap.org/soap/encoding/": "soapenc",
    XSI: "xsi",
    "http://www.w3.org/2001/XMLSchema": "xsd",
    WSDL["namespace"]: "wss",
}
AUTH = ("WSUSER", "x3-secret")
# The refusal's own texts (reconstructed: our values).
REFUSAL_ERROR = "PAYSAGE-REF-0001 : customer reference already used on document C000042"
REFUSAL_INFO = "Creation cancelled"


# --- reading envelopes the same way on both sides ------------------------------------------------------


def _name(qualified: str) -> str:
    if not qualified.startswith("{"):
        return qualified
    namespace, _, local = qualified[1:].partition("}")
    return f"{PREFIXES[namespace]}:{local}"


def _attributes(element: ET.Element) -> str:
    """Attribute names with the values that are part of the format; ids, references and array lengths are
    data, so only their form is kept."""
    shown = []
    for key, value in sorted(element.attrib.items()):
        name = _name(key)
        if name == "href":
            value = "#ref" if value.startswith("#") else value
        elif name == "id":
            value = "<id>"
        elif name == "soapenc:arrayType":
            value = re.sub(r"\[\d+\]$", "[n]", value)
        shown.append(f" {name}={value}")
    return "".join(shown)


def shape(element: ET.Element, depth: int = 0) -> list[str]:
    """One line per element: its name and format attributes, indented by depth. Texts are data and left
    out; a run of siblings of one shape (an array's items) counts once."""
    lines = ["  " * depth + _name(element.tag) + _attributes(element)]
    previous: list[str] = []
    for child in element:
        child_lines = shape(child, depth + 1)
        if child_lines != previous:
            lines += child_lines
        previous = child_lines
    return lines


def _body(envelope: bytes | str) -> ET.Element:
    return ET.fromstring(envelope).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")


def _returned(body: ET.Element) -> ET.Element:
    return body[0][0]


def _messages(body: ET.Element) -> list[tuple[str, str]]:
    """(type, message) of every CAdxMessage, through the array's href references."""
    by_id = {element.get("id"): element for element in body if element.get("id")}
    found = []
    for reference in _returned(body).findall("messages/messages"):
        target = by_id[reference.get("href", "")[1:]]
        assert _name(target.tag) == "multiRef" and target.get(f"{{{XSI}}}type") == "wss:CAdxMessage"
        found.append((target.findtext("type"), target.findtext("message")))
    return found


def _result_document(body: ET.Element) -> str:
    return _returned(body).findtext("resultXml") or ""


def _placed(result: ET.Element) -> dict[str, ET.Element]:
    """Every GRP, TAB, FLD and LST of a <RESULT> by its place, e.g. `TAB BPAC_1/LIN/LST BPAADDLIG`."""
    places: dict[str, ET.Element] = {}

    def walk(element: ET.Element, prefix: str) -> None:
        for child in element:
            label = child.get("ID") or child.get("NAME") or ""
            place = f"{prefix}{child.tag} {label}".strip() if child.tag != "LIN" else f"{prefix}LIN"
            if child.tag != "ITM":
                places.setdefault(place, child)
                walk(child, place + "/")

    walk(result, "")
    return places


def _written(element: ET.Element) -> tuple:
    """What a FLD or LST says: its attributes, its text, its items."""
    return dict(element.attrib), element.text, [item.text for item in element.findall("ITM")]


def _param_for(result_document: str) -> str:
    """The object an accepted save returned, as a caller sends it: a <PARAM> without the ADXTEC group X3
    fills in, and without TYPE / MENULAB / MENULOCAL (types are X3's business, requests leave them out)."""
    root = ET.fromstring(result_document)
    root.tag = "PARAM"
    for group in root.findall("GRP"):
        if group.get("ID") == "ADXTEC":
            root.remove(group)
    for element in root.iter():
        for attribute in ("TYPE", "MENULAB", "MENULOCAL"):
            element.attrib.pop(attribute, None)
    return ET.tostring(root, encoding="unicode")


ACCEPTED_RESULT = _result_document(_body(ACCEPTED))
SAVED_OBJECT = _param_for(ACCEPTED_RESULT)


def _call(operation: str, parts: str, *, pool: str = "SEED") -> str:
    """An RPC/encoded call written by hand, laid out as Sage's published request examples: no client code."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xmlns:wss="http://www.adonix.com/WSS">
<soapenv:Header/>
<soapenv:Body>
<wss:{operation} soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<callContext xsi:type="wss:CAdxCallContext">
<codeLang xsi:type="xsd:string">ENG</codeLang>
<poolAlias xsi:type="xsd:string">{pool}</poolAlias>
<poolId xsi:type="xsd:string"></poolId>
<requestConfig xsi:type="xsd:string">adxwss.optreturn=XML</requestConfig>
</callContext>
<publicName xsi:type="xsd:string">BPC</publicName>
{parts}
</wss:{operation}>
</soapenv:Body>
</soapenv:Envelope>"""


SAVE = _call("save", f'<objectXml xsi:type="xsd:string"><![CDATA[{SAVED_OBJECT}]]></objectXml>')


# --- (a) the simulator answers in the envelopes' shape ------------------------------------------------

simulator = pytest.mark.django_db(
    transaction=True,
    available_apps=["django.contrib.contenttypes", "django.contrib.auth", "simulators", "simulators.x3"],
)


@pytest.fixture
def soap_url(sandbox_base) -> str:
    sandbox_x3_folder_ensure(folder="SEED", pool_alias="SEED", username=AUTH[0], password=AUTH[1])
    return f"{sandbox_base}/x3/{SOAP_PATH}"


def _post(url: str, envelope: str) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    return requests.post(url, data=envelope.encode(), headers=headers, auth=AUTH, timeout=5)


@simulator
def test_the_simulator_refuses_a_save_in_the_refusal_envelopes_shape(soap_url):
    assert _post(soap_url, SAVE).status_code == 200  # the customer now exists: saving it again is refused
    answer = _post(soap_url, SAVE)

    assert answer.status_code == 200  # a business refusal is HTTP 200, status 0
    body = _body(answer.content)
    assert shape(body) == shape(_body(REFUSAL))
    assert _returned(body).findtext("status") == "0"
    assert _returned(body).find("resultXml").get(f"{{{XSI}}}nil") == "true"
    assert _returned(body).find("messages").get("{http://schemas.xmlsoap.org/soap/encoding/}arrayType") == (
        "wss:CAdxMessage[1]"
    )
    assert _messages(body) == [("3", "Customer C000042 : Record already exists")]


@simulator
def test_the_simulator_accepts_a_save_in_the_accepted_envelopes_shape(soap_url):
    answer = _post(soap_url, SAVE)

    assert answer.status_code == 200
    body = _body(answer.content)
    assert shape(body) == shape(_body(ACCEPTED))
    assert _returned(body).findtext("status") == "1" and _messages(body) == []
    document = _result_document(body)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<RESULT>')
    ours, theirs = _placed(ET.fromstring(document)), _placed(ET.fromstring(ACCEPTED_RESULT))
    for place, expected in theirs.items():
        assert place in ours, place
        got = ours[place]
        assert set(got.attrib) == set(expected.attrib), place
        for attribute in ("TYPE", "MENULAB", "MENULOCAL", "ID", "NAME"):
            assert got.get(attribute) == expected.get(attribute), (place, attribute)
        if got.tag == "LST":  # one ITM per slot of the field's dimension, empty ones included
            assert got.get("SIZE") == expected.get("SIZE") == str(len(got.findall("ITM"))), place
        if got.tag == "TAB":  # DIM is a capacity, SIZE the line count
            assert int(got.get("DIM")) >= int(got.get("SIZE")) == len(got.findall("LIN")), place
    assert all(ours[place].get("TYPE") for place in ours if ours[place].tag in ("FLD", "LST"))
    sent = _placed(ET.fromstring(SAVED_OBJECT))
    for place in (
        "GRP BPC0_1/FLD BPCNUM",
        "GRP BPC0_1/FLD BPCSTA",
        "GRP BPRC_1/LST BPRNAM",
        "TAB BPAC_1/LIN/FLD CODADR",
        "TAB BPAC_1/LIN/LST BPAADDLIG",
        "TAB BPAC_1/LIN/FLD CTY",
        "TAB BPAC_1/LIN/FLD BPACRY",
    ):
        # The values sent come back, now typed.
        assert _written(ours[place]) == _written(theirs[place]) != _written(sent[place]), place
    assert re.fullmatch(r"\d{14}", ours["GRP ADXTEC/FLD WW_MODSTAMP"].text)


@simulator
def test_the_simulator_has_the_wsdls_operations_and_technical_infos(soap_url):
    infos = [item["name"] for item in WSDL["types"]["CAdxTechnicalInfos"]]
    for operation, described in WSDL["operations"].items():
        answer = _post(soap_url, _call(operation, ""))
        assert answer.status_code == 200, (operation, answer.text)
        response = _body(answer.content)[0]
        assert _name(response.tag) == f"wss:{described['response_element']}"
        assert response[0].tag == described["response"][0]["part"]
        assert [child.tag for child in response[0].find("technicalInfos")] == infos
    unknown = _post(soap_url, _call("purge", ""))
    assert unknown.status_code == 500 and _name(_body(unknown.content)[0].tag) == "soapenv:Fault"


# --- (b) the connector reads the envelopes right -------------------------------------------------------


def _connector() -> X3Connector:
    connection = ConnectionFactory.build(
        system="sage_x3",
        base_url="https://x3.example.invalid:8124",
        credentials={"username": "WSPAYSAGE", "password": "replayed"},
        options={"folder": "SEED", "pool_alias": "SEED", "timeout": 5},
    )
    return X3Connector.from_connection(connection)


NEW_CUSTOMER = CustomerData(name="Example Trading Co")  # no number: the connector goes straight to `save`


def test_the_connector_shows_x3s_refusal_text_and_only_its_errors(monkeypatch):
    replay = replay_serve(monkeypatch, REFUSAL)
    with pytest.raises(ErpPermanentError) as refused:
        _connector().customer_upsert(customer=NEW_CUSTOMER)
    assert refused.value.message == REFUSAL_ERROR  # the type-1 "Creation cancelled" is no error
    assert refused.value.code == "status0"
    assert str(refused.value) == f"[status0] {REFUSAL_ERROR}"  # what the dead-letter queue shows
    assert replay.received[0].url.endswith(SOAP_PATH)


def test_the_connector_reads_every_message_of_the_array():
    result = soap_result_parse(REFUSAL.decode())
    assert [(m.type, m.message) for m in result.messages] == [(3, REFUSAL_ERROR), (1, REFUSAL_INFO)]
    assert result.status == 0 and result.result_xml == ""


def _inlined(envelope: bytes) -> bytes:
    """The refusal with its messages written inline in the array instead of as multiRef elements."""
    text = envelope.decode()
    for ref_id, (kind, message) in enumerate([("3", REFUSAL_ERROR), ("1", REFUSAL_INFO)]):
        inline = (
            f'<messages xsi:type="wss:CAdxMessage"><type xsi:type="xsd:string">{kind}</type>'
            f'<message xsi:type="xsd:string">{message}</message></messages>'
        )
        text = text.replace(f'<messages href="#id{ref_id}"/>', inline)
    return re.sub(r"<multiRef .*?</multiRef>\n", "", text, flags=re.S).encode()


def test_inline_messages_still_read(monkeypatch):
    inline = _inlined(REFUSAL)
    assert b"multiRef" not in inline
    replay_serve(monkeypatch, inline)
    with pytest.raises(ErpPermanentError) as refused:
        _connector().customer_upsert(customer=NEW_CUSTOMER)
    assert refused.value.message == REFUSAL_ERROR


def test_a_reference_to_no_message_is_a_format_error_not_a_silent_refusal(monkeypatch):
    replay_serve(monkeypatch, REFUSAL.replace(b'href="#id1"', b'href="#id9"'))
    with pytest.raises(ErpTransientError) as caught:
        _connector().customer_upsert(customer=NEW_CUSTOMER)
    assert caught.value.code == "format" and "#id9" in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "Locked record",  # X3's generic message, online help FCT/ERR_GEN
        "Change In Progress on another workstation",  # same page
        "Fiche en cours de modification",  # French, reported in public X3 integration code
        "Fiche verrouillée par DUPONT",
        "Record in use by another user",
        "Délai d'attente dépassé",
        "Request timeout",
    ],
)
def test_a_lock_in_use_or_timeout_refusal_is_transient(monkeypatch, text):
    replay_serve(monkeypatch, REFUSAL.replace(REFUSAL_ERROR.encode(), text.encode()))
    with pytest.raises(ErpTransientError) as caught:
        _connector().customer_upsert(customer=NEW_CUSTOMER)
    assert caught.value.message == text and caught.value.code == "status0"


@pytest.mark.parametrize(
    "text", ["Customer C1001 blocked", "Délai de paiement 30J : fiche inexistante", "Credit block : limit"]
)
def test_refusals_that_only_look_like_a_lock_stay_permanent(monkeypatch, text):
    replay_serve(monkeypatch, REFUSAL.replace(REFUSAL_ERROR.encode(), text.encode()))
    with pytest.raises(ErpPermanentError):
        _connector().customer_upsert(customer=NEW_CUSTOMER)


def test_the_connector_reads_the_accepted_save(monkeypatch):
    replay = replay_serve(monkeypatch, ACCEPTED)
    customer = _connector().customer_upsert(customer=NEW_CUSTOMER)
    assert (customer.number, customer.name) == ("C000042", "Example Trading Co")
    assert (customer.address.line1, customer.address.city, customer.address.postal_code) == (
        "1 Example Street",
        "San Francisco",
        "94105",
    )
    assert (customer.address.state, customer.address.country) == ("CA", "US")
    (sent,) = replay.received
    assert b"<wss:save" in sent.body and b"Example Trading Co" in sent.body
