"""X3 XML is parsed with defusedxml, by the connector and by the X3 simulator: a DTD, an entity or an
external reference anywhere in a document is refused whole, and the connector classifies the refusal
as permanent instead of crashing."""

from xml.sax.saxutils import escape

import pytest
import requests

from integrations.sage.base import ErpPermanentError, ErpTransientError
from integrations.sage.x3.adxml import AdxObject, XmlRefused, adx_build, adx_parse
from integrations.sage.x3.client import X3Client
from integrations.sage.x3.soap import CallContext, soap_envelope, soap_result_parse
from simulators.x3.adx import XmlUnreadable
from simulators.x3.soap import soap_call_read

LONG_COMMENT = "<!--" + "padding " * 400 + "-->"  # well past the old check's first 2,048 characters
HOSTILE = {
    "DTD behind a long comment": f'{LONG_COMMENT}<!DOCTYPE PARAM [<!ENTITY a "aaaa">]><PARAM>&a;</PARAM>',
    "billion laughs": '<!DOCTYPE PARAM [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;">]><PARAM>&b;</PARAM>',
    "external entity": '<!DOCTYPE PARAM [<!ENTITY x SYSTEM "file:///etc/passwd">]><PARAM>&x;</PARAM>',
    "external DTD": '<!DOCTYPE PARAM SYSTEM "http://127.0.0.1:9/x.dtd"><PARAM/>',
    "bare DOCTYPE": "<!DOCTYPE PARAM><PARAM/>",
}
EMPTY_RESULT = "<RESULT/>"


def _answer(result_xml: str = EMPTY_RESULT, *, prologue: str = "") -> str:
    """A CAdxResultXml envelope as Syracuse writes it, with `prologue` before its root element."""
    return (
        f'{prologue}<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><wss:readResponse xmlns:wss="http://www.adonix.com/WSS"><readReturn>'
        f"<resultXml>{escape(result_xml)}</resultXml><status>1</status>"
        "</readReturn></wss:readResponse></soapenv:Body></soapenv:Envelope>"
    )


class _Answering:
    """A transport whose every call answers HTTP 200 with `text`."""

    def __init__(self, text: str):
        self.text = text

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content, response.encoding = 200, self.text.encode(), "utf-8"
        return response


def _client(answer: str) -> X3Client:
    return X3Client(transport=_Answering(answer), folder="SEED", context=CallContext("ENG", "SEED"))


@pytest.mark.parametrize("case", HOSTILE)
def test_adx_parse_refuses_a_dtd_or_entity_anywhere(case):
    with pytest.raises(XmlRefused, match="DTD or entity declaration is refused"):
        adx_parse(HOSTILE[case])


def test_a_comment_mentioning_a_doctype_is_only_a_comment():
    parsed = adx_parse(f"<!-- <!DOCTYPE x> -->{adx_build(AdxObject(groups={'G': {'F': 'v'}}))}")
    assert parsed.value("G", "F") == "v"


@pytest.mark.parametrize("case", HOSTILE)
def test_a_dtd_in_the_envelope_or_in_its_result_xml_is_a_permanent_error(case):
    hostile_prologue = HOSTILE[case].rsplit("<PARAM", 1)[0]
    for answer in (_answer(prologue=hostile_prologue), _answer(HOSTILE[case])):
        with pytest.raises(XmlRefused):
            soap_result_parse(answer)
        with pytest.raises(ErpPermanentError) as refused:
            _client(answer).soap("read", {"publicName": "BPC", "objectKeys": [("BPCNUM", "C1001")]})
        assert refused.value.code == "xml_refused" and "DTD" in refused.value.message


def test_a_result_xml_that_is_not_xml_stays_a_transient_format_error():
    with pytest.raises(ErpTransientError) as caught:
        _client(_answer("<RESULT><GRP>")).soap("read", {"publicName": "BPC"})
    assert caught.value.code == "format" and "resultXml is not XML" in caught.value.message


def test_a_clean_answer_is_read_once_into_its_object():
    answer = _answer(adx_build(AdxObject(groups={"BPC0_1": {"BPCNUM": "C1001"}}), root="RESULT"))
    result = _client(answer).soap("read", {"publicName": "BPC"})
    assert result.ok and result.obj().value("BPC0_1", "BPCNUM") == "C1001"


@pytest.mark.parametrize("case", HOSTILE)
def test_the_x3_simulator_refuses_a_dtd_in_the_envelope_or_in_the_object_xml(case):
    context = CallContext("ENG", "SEED")
    clean = soap_envelope(operation="save", context=context, parts={"publicName": "BPC", "objectXml": ""})
    prologue = HOSTILE[case].rsplit("<PARAM", 1)[0]
    hostile = clean.replace("<soapenv:Envelope", prologue + "<soapenv:Envelope", 1)
    with pytest.raises(XmlUnreadable, match="DTD or entity declaration is refused"):
        soap_call_read(hostile.encode())
    carrying = soap_envelope(
        operation="save", context=context, parts={"publicName": "BPC", "objectXml": HOSTILE[case]}
    )
    with pytest.raises(XmlUnreadable, match="DTD or entity declaration is refused"):
        soap_call_read(carrying.encode())
