"""X3 web-service XML: the SOAP names and the `<PARAM>`/`<RESULT>` object codec.

X3 describes an object as groups of fields (`<GRP ID><FLD NAME>`), tables of lines
(`<TAB ID><LIN NUM><FLD NAME>`) and multi-valued fields (`<LST NAME><ITM>`). This codec is a data
format, like JSON: the connector and the sandbox both speak it.
"""

from dataclasses import dataclass, field
from xml.etree import ElementTree as ET  # noqa: S405 - builds documents; parsing is defusedxml's

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSS_NS = "http://www.adonix.com/WSS"

# Serialised envelopes read like X3's own (soapenv:, wss:) instead of ns0:, ns1:.
for _prefix, _uri in (
    ("soapenv", SOAP_ENV_NS),
    ("soapenc", SOAP_ENC_NS),
    ("xsi", XSI_NS),
    ("xsd", XSD_NS),
    ("wss", WSS_NS),
):
    ET.register_namespace(_prefix, _uri)

Value = str | list[str]
Fields = dict[str, Value]


@dataclass
class AdxObject:
    groups: dict[str, Fields] = field(default_factory=dict)
    tables: dict[str, list[Fields]] = field(default_factory=dict)

    def value(self, group: str, name: str) -> str:
        found = self.groups.get(group, {}).get(name, "")
        return found[0] if isinstance(found, list) and found else found or ""

    def all_fields(self) -> Fields:
        """Every group's fields in one dict; X3 field codes are unique across an object's groups."""
        merged: Fields = {}
        for values in self.groups.values():
            merged.update(values)
        return merged


class XmlRefused(ValueError):
    """The document declares a DTD, an entity or an external reference: never legitimate in X3 SOAP
    or `<PARAM>`/`<RESULT>` payloads, so it is refused whole, not parsed around."""


def xml_parse_safe(text: str | bytes) -> ET.Element:
    """Parse XML that came over the wire with defusedxml, which refuses a DTD wherever the parser meets
    it (the old look at the first 2,048 characters let one through behind a long comment) and any
    entity declaration or external reference. Malformed XML still raises ET.ParseError."""
    try:
        return SafeET.fromstring(text, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise XmlRefused(f"XML with a DTD or entity declaration is refused ({type(exc).__name__})") from None


def _fields_append(parent: ET.Element, values: Fields) -> None:
    for name, value in values.items():
        if isinstance(value, list):
            lst = ET.SubElement(parent, "LST", NAME=name, SIZE=str(len(value)))
            for item in value:
                ET.SubElement(lst, "ITM").text = item
        else:
            ET.SubElement(parent, "FLD", NAME=name).text = value


def adx_build(obj: AdxObject, *, root: str = "PARAM") -> str:
    element = ET.Element(root)
    for group_id, values in obj.groups.items():
        _fields_append(ET.SubElement(element, "GRP", ID=group_id), values)
    for table_id, lines in obj.tables.items():
        table = ET.SubElement(element, "TAB", ID=table_id, SIZE=str(len(lines)), DIM=str(max(len(lines), 1)))
        for number, values in enumerate(lines, start=1):
            _fields_append(ET.SubElement(table, "LIN", NUM=str(number)), values)
    return ET.tostring(element, encoding="unicode")


def _fields_read(parent: ET.Element) -> Fields:
    values: Fields = {}
    for child in parent:
        if child.tag == "FLD":
            values[child.get("NAME", "")] = child.text or ""
        elif child.tag == "LST":
            values[child.get("NAME", "")] = [item.text or "" for item in child.findall("ITM")]
    return values


def adx_parse(text: str) -> AdxObject:
    """Parse a `<PARAM>` or `<RESULT>` document; an empty text is an empty object."""
    obj = AdxObject()
    if not text.strip():
        return obj
    for child in xml_parse_safe(text):
        if child.tag == "GRP":
            obj.groups[child.get("ID", "")] = _fields_read(child)
        elif child.tag == "TAB":
            obj.tables[child.get("ID", "")] = [_fields_read(line) for line in child.findall("LIN")]
    return obj


def soap_envelope_start(*, header: bool) -> tuple[ET.Element, ET.Element]:
    """A SOAP 1.1 envelope and its Body. `xsd:` only appears inside xsi:type values, so ElementTree
    would not declare it on its own."""
    envelope = ET.Element(f"{{{SOAP_ENV_NS}}}Envelope", {"xmlns:xsd": XSD_NS})
    if header:
        ET.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Header")
    return envelope, ET.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body")


def xml_typed(parent: ET.Element, name: str, xsd_type: str, text: str) -> ET.Element:
    """An RPC/encoded part: `<name xsi:type="...">text</name>`."""
    child = ET.SubElement(parent, name, {f"{{{XSI_NS}}}type": xsd_type})
    child.text = text
    return child


def xml_local(tag: str) -> str:
    """`{namespace}name` -> `name`: RPC/encoded bodies mix qualified and unqualified parts."""
    return tag.rsplit("}", 1)[-1]
