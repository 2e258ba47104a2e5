"""Server side of the simulated `CAdxWebServiceXmlCC`: read an RPC/encoded call, answer a `CAdxResultXml`.

The wire format is decided by Sage's WSDL and the two envelopes under tests/contracts/data/x3/ (see
tests/contracts/data/SOURCES.md, section "Sage X3"; wsdl_interface.json lists the WSDL's facts):
- SOAP 1.1, style rpc, use encoded, namespace http://www.adonix.com/WSS (WSDL binding);
- the answer to `<op>` is `wss:<op>Response` holding `<op>Return` of type `wss:CAdxResultXml`, whose parts
  are `messages`, `resultXml`, `status` and `technicalInfos` (WSDL, CAdxResultXml);
- RPC/encoded serialises each `CAdxMessage` as a `multiRef` element, a sibling of the response inside
  `soapenv:Body`; the `messages` array only holds `<messages href="#idN"/>` references to them
  (save_refusal_multiref.xml). The simulator does so whatever the status, since the encoding does not
  depend on it: a warning on an accepted save travels the same way;
- on a refusal `resultXml` is `xsi:nil="true"` and `status` is 0 (save_refusal_multiref.xml); on success
  `resultXml` is a CDATA section holding the `<RESULT>` document (save_success_typed.xml);
- `technicalInfos` carries the 19 elements of `CAdxTechnicalInfos` (WSDL), valued as both envelopes show.
Prefixes (soapenv, soapenc, xsi, xsd, wss) are written literally, declared once on the envelope, as there.
"""

import time
import uuid
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, indent, tostring  # noqa: S405 - writes; reads are defused

from simulators.x3.adx import XML_DECLARATION, Param, param_read, xml_read

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
WSS = "http://www.adonix.com/WSS"
_DECLARED = {
    "xmlns:soapenv": SOAP_ENV,
    "xmlns:xsd": XSD,
    "xmlns:xsi": XSI,
    "xmlns:soapenc": SOAP_ENC,
    "xmlns:wss": WSS,
}

# The twelve operations of the WSDL (wsdl_interface.json, "operations").
WSDL_OPERATIONS = frozenset(
    {
        "run",
        "save",
        "delete",
        "read",
        "query",
        "modify",
        "actionObject",
        "actionObjectKeys",
        "getDescription",
        "getDataXmlSchema",
        "insertLines",
        "deleteLines",
    }
)
MESSAGE_INFO, MESSAGE_WARNING, MESSAGE_ERROR = 1, 2, 3


class SoapRequestError(ValueError):
    """Not one RPC call in a SOAP 1.1 envelope."""


@dataclass
class SoapCall:
    operation: str
    context: dict[str, str]
    public_name: str = ""
    param: Param = field(default_factory=Param)  # objectXml (save/modify/actionObject) or inputXml (run)
    keys: list[tuple[str, str]] = field(default_factory=list)
    list_size: int = 0


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _dereferenced(element: Element, body: Element) -> Element:
    """An RPC/encoded client (Axis, .NET) may send a part or an array item as an `href` to a `multiRef`
    elsewhere in the Body, as X3 itself answers: follow it."""
    reference = element.get("href", "")
    if not reference.startswith("#"):
        return element
    for candidate in body:
        if candidate.get("id") == reference[1:]:
            return candidate
    raise SoapRequestError(f"unresolved reference {reference}")


def soap_call_read(body: bytes) -> SoapCall:
    """Raises SoapRequestError, or XmlUnreadable for XML (envelope or object XML) Syracuse cannot read."""
    envelope_body = xml_read(body).find(f"{{{SOAP_ENV}}}Body")
    if envelope_body is None or len(envelope_body) == 0:
        raise SoapRequestError("no SOAP Body")
    call = envelope_body[0]
    parts = {_local(child.tag): _dereferenced(child, envelope_body) for child in call}
    context = {_local(item.tag): _text(item) for item in parts.get("callContext", [])}
    keys = []
    for item in parts.get("objectKeys", []):
        pair = _dereferenced(item, envelope_body)
        keys.append((_text(pair.find("key")), _text(pair.find("value"))))
    document = parts.get("objectXml", parts.get("inputXml"))
    size = _text(parts.get("listSize"))
    return SoapCall(
        operation=_local(call.tag),
        context=context,
        public_name=_text(parts.get("publicName")),
        param=param_read(document.text or "") if document is not None else Param(),
        keys=keys,
        list_size=int(size) if size.isdigit() else 0,
    )


# --- the answer ----------------------------------------------------------------------------------------


def _typed(parent: Element, name: str, xsd_type: str, text: str | None) -> Element:
    """One encoded part; None is written `xsi:nil="true"`."""
    attributes = {"xsi:type": xsd_type}
    if text is None:
        attributes["xsi:nil"] = "true"
    child = SubElement(parent, name, attributes)
    child.text = text
    return child


def _technical_infos(parent: Element, *, total_ms: float) -> None:
    """`CAdxTechnicalInfos`: the WSDL's 19 elements, in its order; values as both fixtures show them,
    with this call's own duration."""
    infos = SubElement(parent, "technicalInfos", {"xsi:type": "wss:CAdxTechnicalInfos"})
    duration = f"{total_ms:.0f}"
    for name, xsd_type, text in (
        ("busy", "xsd:boolean", "false"),
        ("changeLanguage", "xsd:boolean", "false"),
        ("changeUserId", "xsd:boolean", "false"),
        ("flushAdx", "xsd:boolean", "false"),
        ("loadWebsDuration", "xsd:double", "0"),
        ("nbDistributionCycle", "xsd:int", "-1"),
        ("poolDistribDuration", "xsd:double", "0"),
        ("poolEntryIdx", "xsd:int", "0"),
        ("poolExecDuration", "xsd:double", duration),
        ("poolRequestDuration", "xsd:double", "-1"),
        ("poolWaitDuration", "xsd:double", "0"),
        ("processReport", "xsd:string", None),
        ("processReportSize", "xsd:int", "-1"),
        ("reloadWebs", "xsd:boolean", "false"),
        ("resumitAfterDBOpen", "xsd:boolean", "false"),
        ("rowInDistribStack", "xsd:int", None),
        ("totalDuration", "xsd:double", duration),
        ("traceRequest", "xsd:string", ""),
        ("traceRequestSize", "xsd:int", "0"),
    ):
        _typed(infos, name, xsd_type, text)


def _envelope() -> tuple[Element, Element]:
    envelope = Element("soapenv:Envelope", _DECLARED)
    return envelope, SubElement(envelope, "soapenv:Body")


def _cdata(text: str) -> str:
    # A `]]>` inside would end the section early: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def soap_answer(
    operation: str,
    *,
    status: int,
    messages: list[tuple[int, str]],
    result_xml: str | None,
    started: float,
) -> str:
    """The `CAdxResultXml` envelope; `result_xml` None (every refusal) is written nil. `started` is the
    `time.monotonic()` of the call's arrival, for the durations."""
    envelope, body = _envelope()
    encoded = {"soapenv:encodingStyle": SOAP_ENC}
    response = SubElement(body, f"wss:{operation}Response", encoded)
    returned = SubElement(response, f"{operation}Return", {"xsi:type": "wss:CAdxResultXml"})
    array_type = f"wss:CAdxMessage[{len(messages)}]"
    array = SubElement(
        returned, "messages", {"xsi:type": "soapenc:Array", **encoded, "soapenc:arrayType": array_type}
    )
    for index, (message_type, text) in enumerate(messages):
        # Each referenced CAdxMessage follows the response element in the Body, as in the refusal fixture.
        SubElement(array, "messages", {"href": f"#id{index}"})
        referenced = SubElement(
            body,
            "multiRef",
            {"id": f"id{index}", "soapenc:root": "0", **encoded, "xsi:type": "wss:CAdxMessage"},
        )
        SubElement(referenced, "type").text = str(message_type)
        SubElement(referenced, "message").text = text
    # ElementTree cannot write CDATA: a marker stands in for the section until the envelope is text.
    marker = f"resultxml-{uuid.uuid4().hex}"
    _typed(returned, "resultXml", "xsd:string", None if result_xml is None else marker)
    _typed(returned, "status", "xsd:int", str(status))
    _technical_infos(returned, total_ms=(time.monotonic() - started) * 1000)
    indent(envelope, space="")  # one element per line, as both fixtures are laid out
    text = f"{XML_DECLARATION}\n{tostring(envelope, encoding='unicode')}"
    return text if result_xml is None else text.replace(marker, _cdata(result_xml), 1)


def soap_fault(message: str) -> str:
    """SOAP 1.1 Fault: what an RPC endpoint answers (HTTP 500) to an operation its WSDL does not have."""
    envelope, body = _envelope()
    fault = SubElement(body, "soapenv:Fault")
    SubElement(fault, "faultcode").text = "soapenv:Client"
    SubElement(fault, "faultstring").text = message
    return f"{XML_DECLARATION}\n{tostring(envelope, encoding='unicode')}"
