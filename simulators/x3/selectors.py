"""Reads of the simulated X3: objects as SOAP `read`/`query` return them (`<RESULT>` XML) and the
api1 classes (`BPCUSTOMER`, `SINVOICE`, `SORDER`, `STOCK`) as their `$query`/`$details` serve them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Model, QuerySet

from simulators.x3.adx import Fields, Result, Table, yes_no
from simulators.x3.models import (
    X3Customer,
    X3Folder,
    X3Invoice,
    X3JournalEntry,
    X3Payment,
    X3PaymentLine,
    X3SalesOrder,
    X3Stock,
)
from simulators.x3.services import X3Refusal
from simulators.x3.where import FieldSpec

# DIM of each table in a <RESULT>: the capacity X3's screen gives it (set per folder through activity
# codes), not its line count. Ours; the accepted-save fixture shows 99 for the customer's addresses.
ADDRESS_LINES, DOCUMENT_LINES = 99, 300


def _technical(instance: Model) -> Fields:
    """The ADXTEC group X3 adds to every object it returns: last change stamp (YYYYMMDDhhmmss) and user."""
    return {"WW_MODSTAMP": instance.updated_at.strftime("%Y%m%d%H%M%S"), "WW_MODUSER": "WSUSER"}


def customer_result(customer: X3Customer) -> Result:
    """BPC as the accepted-save fixture shows it: BPCSTA and BPAADDFLG on local menu 1 (No/Yes), the name
    a LST of dimension 2, the address lines a LST of dimension 3."""
    address: Fields = {
        "CODADR": "MAIN",
        "BPAADDLIG": [customer.addlig1, customer.addlig2, ""],
        "POSCOD": customer.poscod,
        "CTY": customer.cty,
        "SAT": customer.sat,
        "BPACRY": customer.cry,
        "TEL1": customer.tel1,
        "WEB1": customer.web1,
        "BPAADDFLG": yes_no(2),  # the default address
    }
    return Result(
        groups={
            "BPC0_1": {
                "BPCNUM": customer.bpcnum,
                "BCGCOD": customer.bcgcod,
                "BPCSTA": yes_no(customer.bpcsta),
            },
            "BPRC_1": {"BPRNAM": [customer.bpcnam, ""], "CRN": "", "CUR": customer.cur},
            "ADXTEC": _technical(customer),
        },
        tables={"BPAC_1": Table(capacity=ADDRESS_LINES, lines=[address])},
    )


def order_result(order: X3SalesOrder) -> Result:
    header: Fields = {
        "SALFCY": order.salfcy,
        "SOHTYP": order.sohtyp,
        "SOHNUM": order.sohnum,
        "BPCORD": order.customer.bpcnum,
        "CUSORDREF": order.cusordref,
        "CUR": order.cur,
        "ORDDAT": order.orddat,
    }
    lines: list[Fields] = [
        {
            "ITMREF": line.item.itmref,
            "ITMDES1": line.itmdes1,
            "QTY": line.qty,
            "GROPRI": line.gropri,
            "ALLQTY": line.allqty,
            "SHTQTY": line.shtqty,
        }
        for line in order.lines.select_related("item").order_by("linnum")
    ]
    return Result(
        groups={"SOH0_1": header, "ADXTEC": _technical(order)},
        tables={"SOH4_1": Table(capacity=DOCUMENT_LINES, lines=lines)},
    )


def _payment_line_target(payment: X3Payment, line: X3PaymentLine) -> Fields:
    if line.invoice is not None:
        return {"VCRTYP": "INV", "VCRNUM": line.invoice.num}
    if payment.reverses is not None:
        return {"VCRTYP": "PAY", "VCRNUM": payment.reverses.num}
    return {"VCRTYP": "", "VCRNUM": ""}  # on account


def payment_result(payment: X3Payment) -> Result:
    header: Fields = {
        "NUM": payment.num,
        "PAYTYP": payment.paytyp.paytyp,
        "BPR": payment.customer.bpcnum,
        "ACCDAT": payment.accdat,
        "CUR": payment.cur,
        "AMTCUR": payment.amtcur,
        "REF": payment.ref,
        "DES": payment.des,
        "BAN": payment.ban,
        "STA2": 9 if hasattr(payment, "reversed_by") else 1,
    }
    lines: list[Fields] = [
        {**_payment_line_target(payment, line), "AMTLIN": line.amtlin}
        for line in payment.lines.select_related("invoice").order_by("pk")
    ]
    return Result(
        groups={"PAY0_1": header, "ADXTEC": _technical(payment)},
        tables={"PAY1_1": Table(capacity=DOCUMENT_LINES, lines=lines)},
    )


def invoice_result(invoice: X3Invoice) -> Result:
    header: Fields = {
        "SALFCY": "",
        "SIVTYP": invoice.sivtyp,
        "NUM": invoice.num,
        "INVREF": invoice.invref,
        "INVDAT": invoice.invdat,
        "BPCINV": invoice.customer.bpcnum,
        "CUR": invoice.cur,
        "INVDES": invoice.invdes,
    }
    return Result(groups={"SIH0_1": header})


def journal_result(entry: X3JournalEntry) -> Result:
    header: Fields = {
        "NUM": entry.num,
        "TYP": entry.typ,
        "ACCDAT": entry.accdat,
        "CUR": entry.cur,
        "REF": entry.ref,
        "DESVCR": entry.desvcr,
    }
    lines: list[Fields] = [
        {
            "ACCNUM": line.account.accnum,
            "BPR": line.bpr,
            "SNS": line.sns,
            "AMTCUR": line.amtcur,
            "DES": line.des,
        }
        for line in entry.lines.select_related("account").order_by("pk")
    ]
    return Result(
        groups={"HAE0_1": header, "ADXTEC": _technical(entry)},
        tables={"HAE1_1": Table(capacity=DOCUMENT_LINES, lines=lines)},
    )


@dataclass(frozen=True)
class SoapObject:
    """A published object: its rows, the keys `read`/`query` accept and its `<RESULT>` shape."""

    rows: Callable[[X3Folder], QuerySet]
    keys: dict[str, str]
    result: Callable[[Any], Result]


SOAP_OBJECTS = {
    "BPC": SoapObject(
        rows=lambda folder: X3Customer.objects.filter(folder=folder),
        keys={"BPCNUM": "bpcnum"},
        result=customer_result,
    ),
    "SOH": SoapObject(
        rows=lambda folder: X3SalesOrder.objects.filter(folder=folder).select_related("customer"),
        keys={"SOHNUM": "sohnum", "CUSORDREF": "cusordref", "BPCORD": "customer__bpcnum"},
        result=order_result,
    ),
    "PAY": SoapObject(
        rows=lambda folder: X3Payment.objects.filter(folder=folder).select_related("customer", "paytyp"),
        keys={"NUM": "num", "REF": "ref", "BPR": "customer__bpcnum"},
        result=payment_result,
    ),
    "SIH": SoapObject(
        rows=lambda folder: X3Invoice.objects.filter(folder=folder).select_related("customer"),
        keys={"NUM": "num", "INVREF": "invref", "BPCINV": "customer__bpcnum"},
        result=invoice_result,
    ),
    "GAS": SoapObject(
        rows=lambda folder: X3JournalEntry.objects.filter(folder=folder),
        keys={"NUM": "num", "REF": "ref"},
        result=journal_result,
    ),
}


def _soap_rows(
    *, folder: X3Folder, public_name: str, keys: list[tuple[str, str]]
) -> tuple[SoapObject, QuerySet]:
    published = SOAP_OBJECTS.get(public_name)
    if published is None:
        raise X3Refusal(f"Web service {public_name} is not published")
    unknown = [key for key, _ in keys if key not in published.keys]
    if unknown:
        raise X3Refusal(*(f"Key {key} : Unknown key for {public_name}" for key in unknown))
    rows = published.rows(folder).filter(**{published.keys[key]: value for key, value in keys})
    return published, rows.order_by("pk")


def soap_object_read(*, folder: X3Folder, public_name: str, keys: list[tuple[str, str]]) -> Result:
    published, rows = _soap_rows(folder=folder, public_name=public_name, keys=keys)
    found = rows.first() if keys else None
    if found is None:
        shown = ", ".join(f"{key}={value}" for key, value in keys)
        raise X3Refusal(f"{public_name} {shown} : Record does not exist")
    return published.result(found)


def soap_object_query(
    *, folder: X3Folder, public_name: str, keys: list[tuple[str, str]], list_size: int
) -> Result:
    """`query`: one table line per match, with the object's header fields; at most `listSize` lines."""
    published, rows = _soap_rows(folder=folder, public_name=public_name, keys=keys)
    size = max(list_size, 1)
    lines: list[Fields] = []
    for row in rows[:size]:
        header = next(iter(published.result(row).groups.values()))
        lines.append({name: value for name, value in header.items() if not isinstance(value, list)})
    return Result(tables={f"{public_name}_LIST": Table(capacity=size, lines=lines)})


# --- api1 classes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api1Class:
    rows: Callable[[X3Folder], QuerySet]
    key: tuple[str, ...]  # the X3 fields making `$key`, joined by `~`
    fields: dict[str, FieldSpec]
    resource: Callable[[Any], dict[str, Any]]

    def key_of(self, resource: dict[str, Any]) -> str:
        return "~".join(str(resource[name]) for name in self.key)


def _customer_resource(customer: X3Customer) -> dict[str, Any]:
    return {
        "BPCNUM": customer.bpcnum,
        "BPCNAM": customer.bpcnam,
        "BCGCOD": customer.bcgcod,
        "BPCSTA": customer.bpcsta,
        "CUR": customer.cur,
        "ADDLIG1": customer.addlig1,
        "ADDLIG2": customer.addlig2,
        "CTY": customer.cty,
        "SAT": customer.sat,
        "POSCOD": customer.poscod,
        "CRY": customer.cry,
        "TEL1": customer.tel1,
        "WEB1": customer.web1,
        "UPDDATTIM": customer.updated_at,
    }


def _invoice_resource(invoice: X3Invoice) -> dict[str, Any]:
    return {
        "NUM": invoice.num,
        "SIVTYP": invoice.sivtyp,
        "BPCINV": invoice.customer.bpcnum,
        "CUR": invoice.cur,
        "INVREF": invoice.invref,
        "INVDAT": invoice.invdat,
        "DUDDAT": invoice.duddat,
        "AMTATI": invoice.amtati,
        "PAYCUR": invoice.paycur,
        "OPNCUR": invoice.amtati - invoice.paycur,
        "UPDDATTIM": invoice.updated_at,
    }


def _order_resource(order: X3SalesOrder) -> dict[str, Any]:
    return {
        "SOHNUM": order.sohnum,
        "SOHTYP": order.sohtyp,
        "SALFCY": order.salfcy,
        "BPCORD": order.customer.bpcnum,
        "CUSORDREF": order.cusordref,
        "CUR": order.cur,
        "ORDDAT": order.orddat,
        "SOHSOP": [
            {"ITMREF": line.item.itmref, "QTY": line.qty, "GROPRI": line.gropri, "ALLQTY": line.allqty}
            for line in order.lines.all()
        ],
    }


def _stock_resource(stock: X3Stock) -> dict[str, Any]:
    return {
        "STOFCY": stock.stofcy,
        "ITMREF": stock.item.itmref,
        "LOC": "",
        "STA": "A",
        "QTYSTU": stock.qtystu,
        "CUMALLQTY": stock.cumallqty,
    }


def _specs(**fields: tuple[str, str]) -> dict[str, FieldSpec]:
    return {name: FieldSpec(path=path, kind=kind) for name, (path, kind) in fields.items()}


S, D = "str", "decimal"

API1_CLASSES = {
    "BPCUSTOMER": Api1Class(
        rows=lambda folder: X3Customer.objects.filter(folder=folder),
        key=("BPCNUM",),
        fields=_specs(
            BPCNUM=("bpcnum", S),
            BPCNAM=("bpcnam", S),
            BCGCOD=("bcgcod", S),
            BPCSTA=("bpcsta", "int"),
            CUR=("cur", S),
            CTY=("cty", S),
            POSCOD=("poscod", S),
            CRY=("cry", S),
            TEL1=("tel1", S),
            WEB1=("web1", S),
            UPDDATTIM=("updated_at", "datetime"),
        ),
        resource=_customer_resource,
    ),
    "SINVOICE": Api1Class(
        rows=lambda folder: (
            X3Invoice.objects.filter(folder=folder)
            .select_related("customer")
            .annotate(opncur=F("amtati") - F("paycur"))
        ),
        key=("NUM",),
        fields=_specs(
            NUM=("num", S),
            SIVTYP=("sivtyp", S),
            BPCINV=("customer__bpcnum", S),
            CUR=("cur", S),
            INVREF=("invref", S),
            INVDAT=("invdat", "date"),
            DUDDAT=("duddat", "date"),
            AMTATI=("amtati", D),
            PAYCUR=("paycur", D),
            OPNCUR=("opncur", D),
            # Every X3 table carries the UPDDATTIM audit stamp; a payment's matching moves the invoice's.
            UPDDATTIM=("updated_at", "datetime"),
        ),
        resource=_invoice_resource,
    ),
    "SORDER": Api1Class(
        rows=lambda folder: (
            X3SalesOrder.objects.filter(folder=folder)
            .select_related("customer")
            .prefetch_related("lines__item")
        ),
        key=("SOHNUM",),
        fields=_specs(
            SOHNUM=("sohnum", S),
            SOHTYP=("sohtyp", S),
            SALFCY=("salfcy", S),
            BPCORD=("customer__bpcnum", S),
            CUSORDREF=("cusordref", S),
            CUR=("cur", S),
            ORDDAT=("orddat", "date"),
        ),
        resource=_order_resource,
    ),
    "STOCK": Api1Class(
        rows=lambda folder: X3Stock.objects.filter(folder=folder).select_related("item"),
        key=("STOFCY", "ITMREF"),
        fields=_specs(
            STOFCY=("stofcy", S), ITMREF=("item__itmref", S), QTYSTU=("qtystu", D), CUMALLQTY=("cumallqty", D)
        ),
        resource=_stock_resource,
    ),
}
