"""Client side of X3's classic SOAP web service `CAdxWebServiceXmlCC` (SOAP 1.1, RPC/encoded).

Builds the request envelope for one operation and reads the `CAdxResultXml` back. Business outcomes
(status 0 + typed messages) are returned, not raised: the connector decides what they mean.
"""

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

SOAP_PATH = "soap-generic/syracuse/collaboration/syracuse/CAdxWebServiceXmlCC"

MESSAGE_INFO, MESSAGE_WARNING, MESSAGE_ERROR = 1, 2, 3


@dataclass(frozen=True)
class CallContext:
    code_lang: str
    pool_alias: str
    pool_id: str = ""
    request_config: str = "adxwss.optreturn=XML&adxwss.beautify=false"


@dataclass(frozen=True)
class AdxMessage:
    type: int
    message: str


@dataclass
class AdxResult:
    status: int
    messages: list[AdxMessage] = field(default_factory=list)
    result_xml: str = ""

    def __post_init__(self) -> None:
        # Parsed at once, so a malformed or DTD-carrying resultXml is refused where the call's errors
        # are classified (X3Client.soap), not later in the middle of a connector method.
        self._obj = adx_parse(self.result_xml)

    @property
    def ok(self) -> bool:
        return self.status == 1

    def texts(self, message_type: int) -> list[str]:
        return [m.message for m in self.messages if m.type == message_type]

    def obj(self) -> AdxObject:
        return self._obj


class SoapFormatError(ValueError):
    """The answer is not a CAdxResultXml envelope (a proxy page, a truncated body...)."""


Part = str | int | list[tuple[str, str]]


def soap_envelope(*, operation: str, context: CallContext, parts: dict[str, Part]) -> str:
    """One RPC call: `callContext` first, then the operation's parts in order. A list part is an
    `ArrayOfCAdxParamKeyValue` (object keys)."""
    envelope, body = soap_envelope_start(header=True)
    call = ET.SubElement(body, f"{{{WSS_NS}}}{operation}", {f"{{{SOAP_ENV_NS}}}encodingStyle": SOAP_ENC_NS})
    ctx = ET.SubElement(call, "callContext", {f"{{{XSI_NS}}}type": "wss:CAdxCallContext"})
    xml_typed(ctx, "codeLang", "xsd:string", context.code_lang)
    xml_typed(ctx, "poolAlias", "xsd:string", context.pool_alias)
    xml_typed(ctx, "poolId", "xsd:string", context.pool_id)
    xml_typed(ctx, "requestConfig", "xsd:string", context.request_config)
    for name, value in parts.items():
        if isinstance(value, list):
            array = ET.SubElement(
                call,
                name,
                {
                    f"{{{XSI_NS}}}type": "soapenc:Array",
                    f"{{{SOAP_ENC_NS}}}arrayType": f"wss:CAdxParamKeyValue[{len(value)}]",
                },
            )
            for key, key_value in value:
                item = ET.SubElement(array, name, {f"{{{XSI_NS}}}type": "wss:CAdxParamKeyValue"})
                xml_typed(item, "key", "xsd:string", key)
                xml_typed(item, "value", "xsd:string", key_value)
        elif isinstance(value, int):
            xml_typed(call, name, "xsd:int", str(value))
        else:
            xml_typed(call, name, "xsd:string", value)
    return ET.tostring(envelope, encoding="unicode", xml_declaration=True)


def _message_items(body: ET.Element, returned: ET.Element) -> list[ET.Element]:
    """The `CAdxMessage` elements of a result. X3 answers RPC/encoded: each item of the `messages` array
    is a `<messages href="#idN"/>` pointing at a `multiRef id="idN"` element elsewhere in the Body
    (tests/contracts/data/x3/reconstructed/save_refusal_multiref.xml); an inline item is read in place."""
    referenced = {element.get("id"): element for element in body.iter() if element.get("id")}
    items = []
    for item in returned.findall("messages/messages"):
        reference = item.get("href")
        if reference is None:
            items.append(item)
        elif reference.startswith("#") and reference[1:] in referenced:
            items.append(referenced[reference[1:]])
        else:
            raise SoapFormatError(f"message reference {reference} points at nothing in the answer")
    return items


def soap_result_parse(text: str) -> AdxResult:
    """Raises SoapFormatError for what is not a CAdxResultXml, XmlRefused for a DTD or an entity in the
    envelope or in its resultXml."""
    try:
        root = xml_parse_safe(text)
    except ET.ParseError as exc:
        raise SoapFormatError(f"not a SOAP envelope: {exc}") from exc
    body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if body is None or len(body) == 0:
        raise SoapFormatError("SOAP envelope without a body")
    response = body[0]
    if xml_local(response.tag) == "Fault":
        raise SoapFormatError(f"SOAP fault: {response.findtext('faultstring') or ''}".strip())
    returned = response[0] if len(response) else None
    if returned is None:
        raise SoapFormatError("SOAP response without a return value")
    status = returned.findtext("status")
    if status is None or not status.strip().lstrip("-").isdigit():
        raise SoapFormatError("CAdxResultXml without a status")
    messages = [
        AdxMessage(
            type=int(item.findtext("type") or MESSAGE_ERROR), message=(item.findtext("message") or "").strip()
        )
        for item in _message_items(body, returned)
    ]
    result_xml = returned.findtext("resultXml") or ""
    try:
        return AdxResult(status=int(status), messages=messages, result_xml=result_xml)
    except ET.ParseError as exc:
        raise SoapFormatError(f"resultXml is not XML: {exc}") from exc
