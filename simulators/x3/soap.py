"""Server side of the simulated `CAdxWebServiceXmlCC`: read an RPC/encoded request, write a
`CAdxResultXml` answer the way Syracuse does."""

from dataclasses import dataclass, field
from xml.etree import ElementTree as ET  # noqa: S405 - parsing goes through xml_parse_safe

from integrations.sage.x3.adxml import (
    SOAP_ENC_NS,
    SOAP_ENV_NS,
    WSS_NS,
    XSI_NS,
    AdxObject,
    adx_parse,
    soap_envelope_start,
    xml_local,
    xml_parse_safe,
    xml_typed,
)


@dataclass
class SoapCall:
    operation: str
    context: dict[str, str]
    public_name: str = ""
    obj: AdxObject = field(default_factory=AdxObject)  # objectXml (save/modify) or inputXml (run)
    keys: list[tuple[str, str]] = field(default_factory=list)
    list_size: int = 0


def soap_call_parse(body: bytes) -> SoapCall:
    """Raises ValueError on anything that is not one RPC call in a SOAP 1.1 envelope (XmlRefused when
    the envelope or the object XML it carries holds a DTD or an entity)."""
    try:
        root = xml_parse_safe(body)
    except ET.ParseError as exc:
        raise ValueError(f"malformed XML: {exc}") from exc
    envelope_body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if envelope_body is None or len(envelope_body) == 0:
        raise ValueError("no SOAP Body")
    operation = envelope_body[0]
    parts = {xml_local(child.tag): child for child in operation}
    context_element = parts.get("callContext")
    context = (
        {xml_local(c.tag): (c.text or "").strip() for c in context_element}
        if context_element is not None
        else {}
    )
    keys_element = parts.get("objectKeys")
    keys = [
        ((item.findtext("key") or "").strip(), (item.findtext("value") or "").strip())
        for item in (keys_element if keys_element is not None else [])
    ]
    xml_part = parts.get("objectXml", parts.get("inputXml"))
    try:
        obj = adx_parse(xml_part.text or "") if xml_part is not None else AdxObject()
    except ET.ParseError as exc:
        raise ValueError(f"malformed {xml_local(xml_part.tag)}: {exc}") from exc
    size = (parts["listSize"].text or "0").strip() if "listSize" in parts else "0"
    return SoapCall(
        operation=xml_local(operation.tag),
        context=context,
        public_name=(parts["publicName"].text or "").strip() if "publicName" in parts else "",
        obj=obj,
        keys=keys,
        list_size=int(size) if size.isdigit() else 0,
    )


def soap_response(operation: str, *, status: int, messages: list[tuple[int, str]], result_xml: str) -> str:
    envelope, body = soap_envelope_start(header=False)
    response = ET.SubElement(
        body, f"{{{WSS_NS}}}{operation}Response", {f"{{{SOAP_ENV_NS}}}encodingStyle": SOAP_ENC_NS}
    )
    returned = ET.SubElement(response, f"{operation}Return", {f"{{{XSI_NS}}}type": "wss:CAdxResultXml"})
    array = ET.SubElement(
        returned,
        "messages",
        {
            f"{{{XSI_NS}}}type": "soapenc:Array",
            f"{{{SOAP_ENC_NS}}}arrayType": f"wss:CAdxMessage[{len(messages)}]",
        },
    )
    for message_type, text in messages:
        item = ET.SubElement(array, "messages", {f"{{{XSI_NS}}}type": "wss:CAdxMessage"})
        xml_typed(item, "message", "xsd:string", text)
        xml_typed(item, "type", "xsd:string", str(message_type))
    xml_typed(returned, "resultXml", "xsd:string", result_xml)
    xml_typed(returned, "status", "xsd:int", str(status))
    technical = ET.SubElement(returned, "technicalInfos", {f"{{{XSI_NS}}}type": "wss:CAdxTechnicalInfos"})
    xml_typed(technical, "busy", "xsd:boolean", "false")
    xml_typed(technical, "changeLanguage", "xsd:boolean", "false")
    xml_typed(technical, "poolEntryIdx", "xsd:int", "0")
    return ET.tostring(envelope, encoding="unicode", xml_declaration=True)
