"""The XML the simulated X3 reads and writes: the `<PARAM>` document a caller sends (objectXml, inputXml)
and the `<RESULT>` document X3 answers with (resultXml).

Written from X3's documented object format, not from any client's code. An object is groups of fields
(`<GRP ID><FLD NAME>`), tables of lines (`<TAB ID><LIN NUM>`) and multi-valued fields (`<LST NAME><ITM>`);
dates are YYYYMMDD. What a `<RESULT>` looks like is decided by the accepted `save` in
tests/contracts/data/x3/reconstructed/save_success_typed.xml (provenance in tests/contracts/data/SOURCES.md):
an XML declaration first; every `FLD` and `LST` typed by a `TYPE` attribute; a local-menu field adds `MENULAB`
and `MENULOCAL`; a `LST` holds one `ITM` per slot of the field's dimension, empty ones included; a `TAB`
says its capacity in `DIM` and its line count in `SIZE`. Attributes are written in alphabetical order, as
there (`MENULAB MENULOCAL NAME TYPE`, `DIM ID SIZE`, `NAME SIZE TYPE`).

Every document that comes in is parsed with defusedxml: a DTD, an entity or an external reference is never
legitimate in these payloads.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError, SubElement, indent, tostring  # noqa: S405 - writes only

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class XmlUnreadable(ValueError):
    """Not well-formed XML, or XML holding a DTD or an entity: Syracuse refuses it before X3 runs."""


def xml_read(text: str | bytes) -> Element:
    try:
        return defused_fromstring(text, forbid_dtd=True)
    except (DefusedXmlException, ParseError) as exc:
        hostile = isinstance(exc, DefusedXmlException)
        why = "XML with a DTD or entity declaration is refused" if hostile else "malformed XML"
        raise XmlUnreadable(f"{why} ({type(exc).__name__}: {exc})") from None


# --- <PARAM>: what a caller sends ----------------------------------------------------------------------

Entry = str | list[str]  # a FLD's text, or a LST's items


def _entries(parent: Element) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for child in parent:
        name = child.get("NAME", "")
        if child.tag == "LST":
            entries[name] = [item.text or "" for item in child.findall("ITM")]
        elif child.tag == "FLD":
            entries[name] = child.text or ""
    return entries


@dataclass
class Param:
    """A `<PARAM>` as read: the caller may leave out TYPE (X3 knows its fields' types), so none is kept."""

    groups: dict[str, dict[str, Entry]] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Entry]]] = field(default_factory=dict)

    def group(self, group_id: str) -> dict[str, Entry]:
        return self.groups.get(group_id, {})

    def text(self, group_id: str, name: str) -> str:
        """A field's text; for a LST, its first item."""
        entry = self.group(group_id).get(name, "")
        if isinstance(entry, list):
            return entry[0] if entry else ""
        return entry

    def lines(self, table_id: str) -> list[dict[str, Entry]]:
        return self.tables.get(table_id, [])


def param_read(text: str) -> Param:
    """An empty part is an empty object (a `run` without input, a `save` of defaults)."""
    if not text.strip():
        return Param()
    root = xml_read(text)
    return Param(
        groups={block.get("ID", ""): _entries(block) for block in root.findall("GRP")},
        tables={
            block.get("ID", ""): [_entries(line) for line in block.findall("LIN")]
            for block in root.findall("TAB")
        },
    )


# --- <RESULT>: what X3 answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuChoice:
    """A local-menu value (X3's "menu local"): its number, the menu it belongs to, the value's label."""

    number: int
    menu: int
    label: str


def yes_no(number: int) -> MenuChoice:
    """Local menu 1 is No (1) / Yes (2); the accepted-save fixture labels BPCSTA 2 "Yes"."""
    return MenuChoice(number=number, menu=1, label="Yes" if number == 2 else "No")


Scalar = str | int | Decimal | date | MenuChoice
Value = Scalar | list[Scalar]  # a list is a LST: one item per slot of the field's dimension
Fields = dict[str, Value]


@dataclass(frozen=True)
class Table:
    capacity: int  # DIM: how many lines the screen's table holds, not how many it has
    lines: list[Fields]


@dataclass
class Result:
    groups: dict[str, Fields] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)


def _typed(value: Scalar) -> tuple[str, str]:
    """(TYPE, text) of a value; X3's types in RESULT are Char, Integer, Decimal and Date."""
    if isinstance(value, MenuChoice):
        return "Integer", str(value.number)
    if isinstance(value, bool):  # bool is an int: refuse it rather than write True as an Integer
        raise TypeError("X3 has no boolean field type; use a local menu")
    if isinstance(value, int):
        return "Integer", str(value)
    if isinstance(value, Decimal):
        return "Decimal", format(value, "f")
    if isinstance(value, date):
        return "Date", value.strftime("%Y%m%d")
    return "Char", value


def _field_write(parent: Element, name: str, value: Value) -> None:
    if isinstance(value, list):
        kind = _typed(value[0])[0] if value else "Char"
        lst = SubElement(parent, "LST", {"NAME": name, "SIZE": str(len(value)), "TYPE": kind})
        for item in value:
            SubElement(lst, "ITM").text = _typed(item)[1] or None
        return
    kind, text = _typed(value)
    attributes = {"NAME": name, "TYPE": kind}
    if isinstance(value, MenuChoice):
        attributes = {"MENULAB": value.label, "MENULOCAL": str(value.menu), **attributes}
    SubElement(parent, "FLD", attributes).text = text or None


def result_text(result: Result) -> str:
    """The `<RESULT>` document, declaration first, one element per line as X3 writes it."""
    root = Element("RESULT")
    for group_id, fields in result.groups.items():
        group = SubElement(root, "GRP", {"ID": group_id})
        for name, value in fields.items():
            _field_write(group, name, value)
    for table_id, table in result.tables.items():
        attributes = {"DIM": str(table.capacity), "ID": table_id, "SIZE": str(len(table.lines))}
        element = SubElement(root, "TAB", attributes)
        for number, fields in enumerate(table.lines, start=1):
            line = SubElement(element, "LIN", {"NUM": str(number)})
            for name, value in fields.items():
                _field_write(line, name, value)
    indent(root, space="")
    return f"{XML_DECLARATION}\n{tostring(root, encoding='unicode')}"
