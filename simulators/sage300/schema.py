"""The wire shape of every resource the simulator serves (property names in Sage's order, Edm types,
keys, the rows of each collection), generated at import from Sage's own artefacts in `metadata/`
(see its README) instead of retyped field lists.

- AR: the AR module's `$metadata` (`metadata/AR_service.edmx`). Its EntitySet `Customers` is served as
  `AR/ARCustomers`: the Developer Reference's v4 `$metadata` extract names the set of type Customer
  `ARCustomers`, and current servers prefix every set with its module. Keys are the EntityType's
  `<Key>`, collections take the rows of the ComplexType they hold.
- GL, IC, OE, BK: Sage publishes no metadata, so a shape is the union of what Sage's sample payloads for
  the resource send (`metadata/samples/`), typed by the JSON value. What no sample can show (keys, the
  fields an answer adds) is listed in `_KEYS` and `_ADDED` below with where each comes from:
  [D] a Sage document that is not machine-readable, [I] inferred from the samples, [S] a third-party
  client of the real API, [U] the simulator's own assumption.
"""

import json
import xml.etree.ElementTree as ET  # noqa: S405 - parses only the edmx shipped in this package
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulators.sage300.errors import invalid_payload

METADATA = Path(__file__).with_name("metadata")
EDMX = METADATA / "AR_service.edmx"
_EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
_COLLECTION = "Collection"
# What the server answers for a property the simulator does not model: Sage 300's views hold blanks and
# zeros, never nulls, except for dates that were never set ("InactiveDate": null in the Developer
# Reference's customer example).
_DEFAULTS: dict[str, Any] = {
    "Edm.String": "",
    "Edm.Decimal": Decimal("0"),
    "Edm.Int32": 0,
    "Edm.Int64": 0,
    "Edm.Boolean": False,
    "Edm.DateTime": None,
}


@dataclass(frozen=True)
class Shape:
    name: str  # the EntityType / ComplexType, or the sample's resource and collection
    source: str  # the artefact it was read from
    types: Mapping[str, str]  # property -> Edm type (or "Collection"), in Sage's order
    key: tuple[str, ...] = ()
    rows: Mapping[str, "Shape"] = field(default_factory=dict)  # collection property -> its rows' shape

    def check(self, payload: Any) -> dict[str, Any]:
        """Refuse a property the type does not have, here and in every row of its collections, the way an
        OData server does, instead of ignoring a misspelt field."""
        if not isinstance(payload, dict):
            raise invalid_payload(f"The payload for {self.name} must be a JSON object.")
        unknown = [name for name in payload if name not in self.types]
        if unknown:
            raise invalid_payload(f"The property '{unknown[0]}' does not exist on type '{self.name}'.")
        for name, rows in self.rows.items():
            if payload.get(name) is None:
                continue
            if not isinstance(payload[name], list):
                raise invalid_payload(f"The property '{name}' of '{self.name}' must be a JSON array.")
            for row in payload[name]:
                rows.check(row)
        return payload

    def complete(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as the server answers it: every property of the type in Sage's order, a default
        for what the simulator does not model, dates as `YYYY-MM-DDT00:00:00Z`. A name the type lacks
        is a simulator bug, never served."""
        stray = sorted(set(record) - set(self.types))
        if stray:
            raise ValueError(f"{self.name} ({self.source}) has no property {', '.join(stray)}")
        answer: dict[str, Any] = {}
        for name, edm in self.types.items():
            value = record.get(name, _DEFAULTS.get(edm, [] if edm == _COLLECTION else None))
            if name in self.rows:
                value = [self.rows[name].complete(row) for row in value or []]
            elif edm == "Edm.DateTime" and isinstance(value, str) and "T" not in value:
                value = f"{value}T00:00:00Z"
            answer[name] = value
        return answer


def _edmx_shapes() -> dict[str, Shape]:
    """Every EntitySet of the edmx by set name, each with its rows' ComplexTypes."""
    root = ET.parse(EDMX).getroot()  # noqa: S314 - our own packaged file, not client input
    schema = root.find(f".//{_EDM}Schema")
    types = {
        node.get("Name"): node for node in schema if node.tag in (f"{_EDM}EntityType", f"{_EDM}ComplexType")
    }

    def build(name: str) -> Shape:
        node = types[name]
        properties: dict[str, str] = {}
        rows: dict[str, Shape] = {}
        for prop in node.findall(f"{_EDM}Property"):
            edm = prop.get("Type")
            if edm.startswith("Collection("):
                rows[prop.get("Name")] = build(edm[len("Collection(") : -1].rsplit(".", 1)[-1])
                edm = _COLLECTION
            properties[prop.get("Name")] = edm
        key = tuple(ref.get("Name") for ref in node.findall(f"{_EDM}Key/{_EDM}PropertyRef"))
        return Shape(name=name, source=f"{EDMX.name} {name}", types=properties, key=key, rows=rows)

    return {
        entity_set.get("Name"): build(entity_set.get("EntityType").rsplit(".", 1)[-1])
        for entity_set in root.iter(f"{_EDM}EntitySet")
    }


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, int | float | Decimal):
        return "Edm.Decimal"
    return "Edm.String"


def _sample_shape(name: str, documents: list[dict[str, Any]], source: str) -> Shape:
    """The union of the properties `documents` send, rows of collections merged the same way."""
    properties: dict[str, str] = {}
    row_documents: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in documents:
        for prop, value in document.items():
            if isinstance(value, list):
                properties.setdefault(prop, _COLLECTION)
                row_documents[prop] += [row for row in value if isinstance(row, dict)]
            else:
                properties.setdefault(prop, _json_type(value))
    rows = {prop: _sample_shape(prop, rows, source) for prop, rows in row_documents.items()}
    return Shape(name=name, source=source, types=properties, rows=rows)


def _with(shape: Shape, *, key: tuple[str, ...], added: Mapping[tuple[str, ...], Mapping[str, str]]) -> Shape:
    """`shape` with its key and the properties `added` puts at each collection path (() is the header)."""
    rows = dict(shape.rows)
    for collection in {path[0] for path in added if path}:
        inner = {path[1:]: props for path, props in added.items() if path[:1] == (collection,)}
        base = rows.get(collection) or Shape(name=collection, source=shape.source, types={})
        rows[collection] = _with(base, key=(), added=inner)
    types = {**shape.types, **added.get((), {})}
    types.update(dict.fromkeys(rows, _COLLECTION))
    return Shape(name=shape.name, source=shape.source, types=types, key=key, rows=rows)


# The keys of the resources without metadata, and why each is believed.
_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    # [I] every JournalHeaders and JournalDetails row of the sample repeats it, as detail rows repeat
    # their header's key throughout the edmx (Invoice.BatchNumber, CustomerOptionalFieldValue.CustomerNumber).
    ("GL", "GLJournalBatches"): ("BatchNumber",),
    ("BK", "BKBanks"): ("BankCode",),  # [I] every BankCurrencies and CheckStocks row repeats it
    ("IC", "ICItems"): ("ItemNumber",),  # [I] every ItemUnitsOfMeasure row carries it
    ("IC", "ICLocations"): ("LocationKey",),  # [I] the sample's first property (keys come first)
    # [U] the sample's first two properties; whether the key includes Currency is not published.
    ("OE", "OEMiscellaneousCharges"): ("Currency", "MiscellaneousChargeCode"),
    ("OE", "OEOrders"): ("OrderUniquifier",),  # [U] OEORDH's key; no artefact names it
    ("GL", "GLAccounts"): ("UnformattedAccount",),  # [S] omniboost/go-sage300 gl_accounts_get.go
    # [U] the CSCRD view's key (home currency, rate type, source currency, rate date) under Web API names.
    ("CS", "CSCurrencyRates"): ("HomeCurrency", "RateType", "SourceCurrency", "RateDate"),
}

# Properties no copied sample shows, per collection path, with where each comes from.
_ADDED: dict[tuple[str, str], dict[tuple[str, ...], dict[str, str]]] = {
    ("OE", "OEOrders"): {
        (): {
            "OrderUniquifier": "Edm.Decimal",  # [U] see _KEYS
            # [D] SampleIntegration (Program.cs) reads these three from the POST answer.
            "OrderNumber": "Edm.String",
            "LastShipmentNumber": "Edm.String",
            "LastInvoiceNumber": "Edm.String",
            "OrderReference": "Edm.String",  # [S] POS clients of the Web API look orders up by it
        },
        ("OrderDetails",): {
            "LineNumber": "Edm.Decimal",  # [I] OrderDetailOptionalFields rows carry their line's LineNumber
            "OrderUnitPrice": "Edm.Decimal",  # [S] price a line at the storefront's price
            "PriceOverride": "Edm.Boolean",  # [S]
            "QuantityCommitted": "Edm.Decimal",  # [U] how much of the line the location could commit
            "QuantityBackordered": "Edm.Decimal",  # [U] the rest
        },
    },
    ("IC", "ICItems"): {(): {"ItemNumber": "Edm.String"}},  # [I] see _KEYS
    # [D] the Endpoint Reference lists CS/CSCurrencyRates with no sample: [U] the fields of view CS0006
    # (CSCRD) under the Web API's naming, as `integrations.sage.sage300.rates` reads them.
    ("CS", "CSCurrencyRates"): {
        (): {
            "HomeCurrency": "Edm.String",
            "RateType": "Edm.String",
            "SourceCurrency": "Edm.String",
            "RateDate": "Edm.DateTime",
            "Rate": "Edm.Decimal",
            "Spread": "Edm.Decimal",
            "DateMatching": "Edm.String",
            "RateOperation": "Edm.String",
        }
    },
    ("GL", "GLAccounts"): {
        # [S] omniboost/go-sage300 types: no Sage sample posts a GL account.
        (): {
            "UnformattedAccount": "Edm.String",
            "AccountNumber": "Edm.String",
            "Description": "Edm.String",
            "AccountType": "Edm.String",
            "NormalBalanceDRCR": "Edm.String",
            "Status": "Edm.String",
        }
    },
    # [D] the body SampleIntegration's Program.cs posts to ICDayEndProcessing('$process').
    ("IC", "ICDayEndProcessing"): {(): {"ClearHistory": "Edm.Boolean"}},
    # [D] the bodies of the Postman collection's "Invoke Process Endpoint" and SampleIntegration.
    ("AR", "ARCreateGLBatch"): {
        (): {
            name: edm
            for kind in ("Receipt", "Invoice", "Adjustment", "Revaluation", "Refund")
            for name, edm in (
                (f"Process{kind}Batch", "Edm.String"),
                (f"{kind}ThroughPostingSequenceNumber", "Edm.Decimal"),
            )
        }
    },
    # [U] no artefact shows GL posting's body: the simulator takes the AR PostInvoice properties.
    ("GL", "GLPostJournal"): {
        (): {
            "PostAllBatches": "Edm.String",
            "PostBatchFrom": "Edm.Decimal",
            "PostBatchTo": "Edm.Decimal",
            "ActionSelector": "Edm.String",
        }
    },
}


def _sample_shapes() -> dict[tuple[str, str], Shape]:
    documents: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted((METADATA / "samples").glob("*.json")):
        resource = path.stem.split("_")[0]
        documents[(resource[:2], resource)].append(json.loads(path.read_text()))
        sources[(resource[:2], resource)].append(f"samples/{path.name}")
    shapes = {}
    for resource in documents.keys() | _ADDED.keys():
        source = ", ".join(sources[resource]) or "no Sage artefact (see schema._ADDED)"
        shape = _sample_shape(resource[1], documents[resource], source)
        shapes[resource] = _with(shape, key=_KEYS.get(resource, ()), added=_ADDED.get(resource, {}))
    return shapes


SHAPES: dict[tuple[str, str], Shape] = {
    **{("AR", f"AR{name}"): shape for name, shape in _edmx_shapes().items()},
    **_sample_shapes(),
}


def shape_of(module: str, resource: str) -> Shape:
    return SHAPES[(module, resource)]
