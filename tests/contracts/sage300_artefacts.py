"""Sage's published Sage 300 artefacts (tests/contracts/data/sage300, see SOURCES.md there), read the
contract suite's own way: independently of the simulator's schema module, so a misreading on one side
is not repeated on the other.

What a record must look like is decided here from the artefacts alone: an AR record carries exactly
its EntityType's properties with JSON values of its Edm types; a GL, IC, OE or BK body carries only the
names Sage's samples send, plus those listed in UNPROVEN with the reason no artefact can prove them.
"""

import json
import re
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

DATA = Path(__file__).parent / "data" / "sage300"
_EDM_NS = "{http://schemas.microsoft.com/ado/2009/11/edm}"

# The filter grammar the Developer Reference documents (its operator and function tables).
OPERATORS = frozenset(
    json.loads((DATA / "developer_reference_examples.json").read_text())["filter_operators"]
)
FUNCTIONS = frozenset(
    re.match(r"\w+ (\w+)\(", signature)[1]
    for signature in json.loads((DATA / "developer_reference_examples.json").read_text())["filter_functions"]
)

# Names a Paysage body or a simulator answer uses that no Sage artefact here shows, and why each is used.
UNPROVEN = {
    "OEOrders": {
        "OrderReference": "idempotency: orders are looked up by our reference (third-party clients do)",
        "OrderUniquifier": "the simulator's key for OEORDH; no artefact names the key",
        "OrderDetails.LineNumber": "line key, inferred from OrderDetailOptionalFields rows carrying it",
        "OrderDetails.PriceOverride": "the storefront's price (third-party clients send it)",
        "OrderDetails.OrderUnitPrice": "the storefront's price (third-party clients send it)",
        "OrderDetails.QuantityCommitted": "the simulator's backorder answer",
        "OrderDetails.QuantityBackordered": "the simulator's backorder answer",
    },
    "ICItems": {"ItemNumber": "the key, inferred from ItemUnitsOfMeasure rows carrying it"},
}


@cache
def edmx() -> dict[str, dict[str, Any]]:
    """`ARCustomers` -> {"key": [...], "properties": {name: Edm type}, "rows": {collection: complex type}}
    for every EntitySet, with the module prefix current servers give set names; complex types under their
    own names."""
    schema = ElementTree.parse(DATA / "metadata" / "AR_service.edmx").find(f".//{_EDM_NS}Schema")
    types: dict[str, dict[str, Any]] = {}
    for node in schema:
        if not node.tag.endswith(("EntityType", "ComplexType")):
            continue
        info: dict[str, Any] = {"key": [], "properties": {}, "rows": {}}
        info["key"] = [ref.get("Name") for ref in node.iter(f"{_EDM_NS}PropertyRef")]
        for prop in node.iter(f"{_EDM_NS}Property"):
            kind = prop.get("Type")
            collection = re.fullmatch(r"Collection\(.*\.(\w+)\)", kind)
            if collection:
                info["rows"][prop.get("Name")] = collection[1]
            info["properties"][prop.get("Name")] = "Collection" if collection else kind
        types[node.get("Name")] = info
    for entity_set in schema.iter(f"{_EDM_NS}EntitySet"):
        types[f"AR{entity_set.get('Name')}"] = types[entity_set.get("EntityType").rsplit(".", 1)[1]]
    return types


def _json_fits(value: Any, edm: str) -> bool:
    if edm == "Edm.String":
        return value is None or isinstance(value, str)
    if edm == "Edm.Boolean":
        return isinstance(value, bool)
    if edm in ("Edm.Int32", "Edm.Int64"):
        return isinstance(value, int) and not isinstance(value, bool)
    if edm == "Edm.Decimal":
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if edm == "Edm.DateTime":
        return value is None or (
            isinstance(value, str) and bool(datetime.fromisoformat(value.replace("Z", "+00:00")))
        )
    return False


def edmx_problems(record: Any, type_name: str, path: str = "") -> list[str]:
    """How `record` departs from the AR type: properties missing or extra, values of the wrong JSON type;
    rows of collections checked against their complex type."""
    info = edmx()[type_name]
    if not isinstance(record, dict):
        return [f"{path or type_name}: not an object"]
    problems = [f"{path}{name}: missing" for name in info["properties"] if name not in record]
    problems += [
        f"{path}{name}: not a {type_name} property" for name in record if name not in info["properties"]
    ]
    for name, edm in info["properties"].items():
        if name not in record:
            continue
        if edm == "Collection":
            rows = record[name]
            if not isinstance(rows, list):
                problems.append(f"{path}{name}: not an array")
                continue
            for index, row in enumerate(rows):
                problems += edmx_problems(row, info["rows"][name], f"{path}{name}[{index}].")
        elif not _json_fits(record[name], edm):
            problems.append(f"{path}{name}: {record[name]!r} is not {edm}")
    return problems


def unknown_names(body: Any, type_name: str, path: str = "") -> list[str]:
    """The names a request body sends that the AR type does not have (a real server refuses them)."""
    info = edmx()[type_name]
    unknown = [f"{path}{name}" for name in body if name not in info["properties"]]
    for name, complex_type in info["rows"].items():
        for index, row in enumerate(body.get(name) or []):
            unknown += unknown_names(row, complex_type, f"{path}{name}[{index}].")
    return unknown


def edmx_record(type_name: str, **values: Any) -> dict[str, Any]:
    """A record of the AR type as a server would serve it: every property, blanks and zeros where
    `values` says nothing."""
    blank = {"Edm.String": "", "Edm.Boolean": False, "Edm.Int32": 0, "Edm.Int64": 0, "Edm.Decimal": 0}
    info = edmx()[type_name]
    assert set(values) <= set(info["properties"]), set(values) - set(info["properties"])
    return {
        name: values.get(name, [] if edm == "Collection" else blank.get(edm))
        for name, edm in info["properties"].items()
    }


@cache
def samples() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted((DATA / "samples").glob("*.json"))}


def sample_names(resource: str) -> set[str]:
    """Every name Sage's samples for `resource` send, rows as `Collection.Name`."""
    names: set[str] = set()

    def walk(body: dict[str, Any], prefix: str) -> None:
        for name, value in body.items():
            names.add(f"{prefix}{name}")
            for row in value if isinstance(value, list) else []:
                walk(row, f"{prefix}{name}.")

    for stem, body in samples().items():
        if stem.split("_")[0] == resource:
            walk(body, "")
    return names


def body_names(body: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for name, value in body.items():
        names.add(f"{prefix}{name}")
        for row in value if isinstance(value, list) else []:
            if isinstance(row, dict):
                names |= body_names(row, f"{prefix}{name}.")
    return names


def document(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


def postman_requests() -> list[dict[str, Any]]:
    """The Postman collection's requests in the collection's own order."""
    collection = json.loads((DATA / "postman" / "Summit_Demo.postman_collection.json").read_text())
    by_id = {request["id"]: request for request in collection["requests"]}
    return [by_id[request_id] for request_id in collection["order"]]


def filter_terms(expression: str) -> tuple[set[str], set[str], set[str]]:
    """(properties, operators, functions) a `$filter` uses, literals left out."""
    bare = re.sub(
        r"datetime'[^']*'|'(?:[^']|'')*'|\d{4}-\d{2}-\d{2}T[\d:.]+Z?|-?\d+(?:\.\d+)?m?", " ", expression
    )
    functions = set(re.findall(r"(\w+)\(", bare))
    words = set(re.findall(r"[A-Za-z_]\w*", bare)) - functions
    operators = {word for word in words if word.islower()}
    return words - operators, operators, functions
