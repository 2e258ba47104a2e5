"""SOAP `save`/`modify` of the published objects: customers (BPC), sales orders (SOH) and sales invoices
(SIH)."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from simulators.x3.adx import Param
from simulators.x3.models import (
    X3Customer,
    X3Folder,
    X3Invoice,
    X3Item,
    X3SalesOrder,
    X3SalesOrderLine,
    X3Stock,
)
from simulators.x3.services import (
    X3Refusal,
    counter_next,
    customer_for,
    mandatory,
    parse_x3_date,
    parse_x3_decimal,
)


def _customer_fields(param: Param) -> dict[str, object]:
    addresses = param.lines("BPAC_1") or [{}]
    address = next((a for a in addresses if a.get("BPAADDFLG") == "2"), addresses[0])
    lines = address.get("BPAADDLIG") or []
    lines = lines if isinstance(lines, list) else [lines]
    status = param.text("BPC0_1", "BPCSTA") or "2"
    if status not in ("1", "2"):
        raise X3Refusal(f"BPCSTA : Invalid value {status}")
    return {
        "bpcnam": param.text("BPRC_1", "BPRNAM")[:70],
        "bcgcod": param.text("BPC0_1", "BCGCOD")[:10],
        "bpcsta": int(status),
        "cur": param.text("BPRC_1", "CUR") or "USD",
        "addlig1": (lines[0] if lines else "")[:50],
        "addlig2": (lines[1] if len(lines) > 1 else "")[:50],
        "cty": str(address.get("CTY", ""))[:40],
        "sat": str(address.get("SAT", ""))[:35],
        "poscod": str(address.get("POSCOD", ""))[:10],
        "cry": str(address.get("BPACRY", ""))[:3],
        "tel1": str(address.get("TEL1", ""))[:40],
        "web1": str(address.get("WEB1", ""))[:80],
    }


def customer_save(*, folder: X3Folder, param: Param) -> X3Customer:
    """`save` on BPC: create; a blank BPCNUM takes the next number of the BPC counter."""
    mandatory({"BPRNAM": param.text("BPRC_1", "BPRNAM")}, "BPRNAM")
    fields = _customer_fields(param)
    with transaction.atomic():
        number = param.text("BPC0_1", "BPCNUM") or counter_next(folder=folder, code="BPC", prefix="C")
        if X3Customer.objects.filter(folder=folder, bpcnum=number).exists():
            raise X3Refusal(f"Customer {number} : Record already exists")
        return X3Customer.objects.create(folder=folder, bpcnum=number, **fields)


def customer_modify(*, folder: X3Folder, bpcnum: str, param: Param) -> X3Customer:
    mandatory({"BPRNAM": param.text("BPRC_1", "BPRNAM")}, "BPRNAM")
    fields = _customer_fields(param)
    with transaction.atomic():
        customer = customer_for(folder=folder, bpcnum=bpcnum)
        for name, value in fields.items():
            setattr(customer, name, value)
        customer.save()
    return customer


def _allocate(*, item: X3Item, site: str, quantity: Decimal) -> Decimal:
    """Allocate what the site has free; the rest is a shortage (X3 keeps the line, short)."""
    stock = X3Stock.objects.select_for_update().filter(item=item, stofcy=site).first()
    if stock is None:
        return Decimal("0")
    allocated = max(min(quantity, stock.qtystu - stock.cumallqty), Decimal("0"))
    stock.cumallqty += allocated
    stock.save(update_fields=["cumallqty", "updated_at"])
    return allocated


def sales_order_save(*, folder: X3Folder, param: Param) -> tuple[X3SalesOrder, list[str]]:
    """`save` on SOH. Returns the order and the warnings (shortages) X3 shows as type-2 messages."""
    header = param.group("SOH0_1")
    mandatory(header, "SALFCY", "BPCORD", "ORDDAT")
    lines = param.lines("SOH4_1")
    if not lines:
        raise X3Refusal("SOH4_1 : At least one line is required")
    customer = customer_for(folder=folder, bpcnum=param.text("SOH0_1", "BPCORD"))
    order_date = parse_x3_date(param.text("SOH0_1", "ORDDAT"), field="ORDDAT")
    site = param.text("SOH0_1", "SALFCY")
    reference = param.text("SOH0_1", "CUSORDREF")[:30]
    warnings: list[str] = []
    with transaction.atomic():
        if reference:
            # X3's "customer order reference" control, set to blocking in this folder.
            previous = X3SalesOrder.objects.filter(
                folder=folder, customer=customer, cusordref=reference
            ).first()
            if previous is not None:
                raise X3Refusal(f"CUSORDREF : Reference {reference} already used on order {previous.sohnum}")
        order_type = param.text("SOH0_1", "SOHTYP") or "SON"
        order = X3SalesOrder.objects.create(
            folder=folder,
            sohnum=counter_next(folder=folder, code="SOH", prefix=f"{order_type}{site}"),
            sohtyp=order_type,
            salfcy=site,
            customer=customer,
            cusordref=reference,
            cur=param.text("SOH0_1", "CUR") or customer.cur,
            orddat=order_date,
        )
        for number, line in enumerate(lines, start=1):
            mandatory(line, "ITMREF", "QTY")
            item = X3Item.objects.filter(folder=folder, itmref=line["ITMREF"]).first()
            if item is None:
                raise X3Refusal(f"Line {number} : Item {line['ITMREF']} : Record does not exist")
            quantity = parse_x3_decimal(str(line["QTY"]), field="QTY")
            if quantity <= 0:
                raise X3Refusal(f"Line {number} : QTY : Value must be positive")
            price = parse_x3_decimal(str(line.get("GROPRI") or item.baspri), field="GROPRI")
            allocated = _allocate(item=item, site=site, quantity=quantity)
            if allocated < quantity:
                warnings.append(
                    f"Line {number} : {item.itmref} : Shortage of {quantity - allocated} at {site}"
                )
            X3SalesOrderLine.objects.create(
                order=order,
                linnum=number * 1000,
                item=item,
                itmdes1=str(line.get("ITMDES1") or item.itmdes1)[:50],
                qty=quantity,
                gropri=price,
                allqty=allocated,
                shtqty=quantity - allocated,
            )
    return order, warnings


def sales_invoice_save(*, folder: X3Folder, param: Param) -> X3Invoice:
    """`save` on SIH (class SINVOICE): header SIH0_1 SALFCY, SIVTYP, NUM (blank: numbered), INVREF,
    INVDAT, BPCINV, CUR; lines SIH4_1 ITMREF, QTY, NETPRI, the fields Sage's SOAP sales invoice carries in
    the public integration code the research notes cite. The invoice is open for its lines' total (its
    open item), due 30 days after INVDAT; INVREF is blocking per customer, as CUSORDREF is on orders."""
    header = param.group("SIH0_1")
    mandatory(header, "SALFCY", "BPCINV", "INVDAT")
    lines = param.lines("SIH4_1")
    if not lines:
        raise X3Refusal("SIH4_1 : At least one line is required")
    customer = customer_for(folder=folder, bpcnum=param.text("SIH0_1", "BPCINV"))
    invoice_date = parse_x3_date(param.text("SIH0_1", "INVDAT"), field="INVDAT")
    reference = param.text("SIH0_1", "INVREF")[:30]
    total = Decimal("0")
    for number, line in enumerate(lines, start=1):
        mandatory(line, "ITMREF", "QTY", "NETPRI")
        if not X3Item.objects.filter(folder=folder, itmref=line["ITMREF"]).exists():
            raise X3Refusal(f"Line {number} : Item {line['ITMREF']} : Record does not exist")
        quantity = parse_x3_decimal(str(line["QTY"]), field="QTY")
        price = parse_x3_decimal(str(line["NETPRI"]), field="NETPRI")
        if quantity <= 0 or price < 0:
            raise X3Refusal(f"Line {number} : QTY, NETPRI : Value must be positive")
        total += quantity * price
    with transaction.atomic():
        if reference:
            previous = X3Invoice.objects.filter(folder=folder, customer=customer, invref=reference).first()
            if previous is not None:
                raise X3Refusal(f"INVREF : Reference {reference} already used on invoice {previous.num}")
        invoice_type = param.text("SIH0_1", "SIVTYP") or "INV"
        site = param.text("SIH0_1", "SALFCY")
        return X3Invoice.objects.create(
            folder=folder,
            num=param.text("SIH0_1", "NUM")
            or counter_next(folder=folder, code="SIH", prefix=f"{invoice_type}{site}"),
            sivtyp=invoice_type,
            customer=customer,
            cur=param.text("SIH0_1", "CUR") or customer.cur,
            invref=reference,
            invdat=invoice_date,
            duddat=invoice_date + timedelta(days=30),
            amtati=total.quantize(Decimal("0.01")),
        )


# The header fields `modify` may change on a sales invoice once it exists: its comment. A validated
# invoice's amounts, customer and dates are not changed by a web service (X3 answers with an error).
_INVOICE_MODIFIABLE = frozenset({"NUM", "INVDES"})


def sales_invoice_modify(*, folder: X3Folder, num: str, param: Param) -> X3Invoice:
    """`modify` on SIH keyed by NUM: the header comment INVDES (SIH0_1) is written, nothing else."""
    header = param.group("SIH0_1")
    refused = sorted(name for name, value in header.items() if name not in _INVOICE_MODIFIABLE and value)
    if refused or param.lines("SIH4_1"):
        raise X3Refusal(f"Invoice {num} : {', '.join(refused) or 'SIH4_1'} : Modification not allowed")
    with transaction.atomic():
        invoice = X3Invoice.objects.select_for_update().filter(folder=folder, num=num).first()
        if invoice is None:
            raise X3Refusal(f"Invoice {num} : Record does not exist")
        invoice.invdes = param.text("SIH0_1", "INVDES")[:250]
        invoice.save(update_fields=["invdes"])
    return invoice
