"""OEOrders (OE0520; no metadata published: its shape is Sage's three OEOrders samples, see schema.py):
a sales order ships and commits stock at its location as it is entered.

On short stock the order takes what is available and backorders the rest when the customer allows
backorders (ARCustomers.AllowBackorderQuantities), as Order Entry does; for a customer who does not,
the order is refused with 409 FieldInvalid and nothing is committed."""

from decimal import Decimal
from typing import Any

from simulators.sage300.errors import WebApiError, field_invalid
from simulators.sage300.models import Company, Customer, ItemLocation, Order
from simulators.sage300.schema import shape_of
from simulators.sage300.selectors import Record
from simulators.sage300.services.common import (
    amount_parse,
    counter_next,
    customer_require,
    date_parse,
    today,
)
from simulators.sage300.services.masters import lookup_get

ZERO = Decimal("0")


def _item_line(*, company: Company, line: dict[str, Any], allow_backorders: bool) -> dict[str, Any]:
    """Ship what the line says was shipped (QuantityShipped, as Sage's WithShipmentsandInvoice sample
    sends it) from stock on hand, commit what is left, backorder what stock cannot cover."""
    item_number, location = str(line.get("Item") or ""), str(line.get("Location") or "")
    stock = (
        ItemLocation.objects.select_for_update()
        .select_related("item")
        .filter(item__company=company, item__number=item_number)
    )
    if not stock.exists():
        raise field_invalid(f'Item "{item_number}" does not exist.')
    if not location and stock.count() == 1:
        # Order Entry fills a blank location from its defaults; here, the item's only location.
        location = stock.first().location
    row = stock.filter(location=location).first()
    if row is None:
        raise field_invalid(f'Location "{location}" is not a valid location for item "{item_number}".')
    quantity = amount_parse(line.get("QuantityOrdered"), field="QuantityOrdered")
    shipped = amount_parse(line.get("QuantityShipped"), field="QuantityShipped", default=ZERO)
    if quantity <= 0 or not ZERO <= shipped <= quantity:
        raise field_invalid(
            f'Quantities of item "{item_number}" must be ordered > 0 and 0 <= shipped <= ordered.'
        )
    available = max(row.on_hand - row.committed, ZERO)
    if shipped > available:
        raise field_invalid(
            f'Quantity shipped {shipped} of item "{item_number}" exceeds the quantity available.'
        )
    committed = min(quantity - shipped, available - shipped)
    if shipped + committed < quantity and not allow_backorders:
        raise field_invalid(
            f'Quantity ordered {quantity} of item "{item_number}" exceeds the quantity available {available} '
            f'at location "{location}", and the customer does not accept backorders.'
        )
    row.on_hand -= shipped
    row.committed += committed
    row.save(update_fields=["on_hand", "committed"])
    override = bool(line.get("PriceOverride"))
    price = (
        amount_parse(line.get("OrderUnitPrice"), field="OrderUnitPrice") if override else row.item.unit_price
    )
    return {
        **line,
        "LineType": "Item",
        "Item": item_number,
        "Location": location,
        "QuantityOrdered": quantity,
        "QuantityShipped": shipped,
        "QuantityCommitted": committed,
        "QuantityBackordered": quantity - shipped - committed,
        "OrderUnitPrice": price,
        "PriceOverride": override,
        "ExtendedAmount": (quantity * price).quantize(Decimal("0.01")),
    }


def _miscellaneous_line(*, company: Company, line: dict[str, Any], customer: Customer) -> dict[str, Any]:
    code = str(line.get("MiscellaneousChargesCode") or "")
    charge = lookup_get(
        company=company,
        module="OE",
        resource="OEMiscellaneousCharges",
        values={"Currency": customer.currency, "MiscellaneousChargeCode": code},
    )
    if charge is None:
        raise field_invalid(f'Miscellaneous charge "{code}" does not exist in {customer.currency}.')
    return {**line, "ExtendedAmount": amount_parse(line.get("ExtendedAmount"), field="ExtendedAmount")}


def order_create(*, company: Company, payload: dict[str, Any]) -> Record:
    """Sage's samples post no OrderNumber: the server numbers the order. A client-chosen number that is
    taken is a duplicate."""
    customer = customer_require(company=company, number=payload.get("CustomerNumber"))
    requested = str(payload.get("OrderNumber") or "")
    if requested and Order.objects.filter(company=company, number=requested).exists():
        raise WebApiError(409, "RecordDuplicate", f'Order "{requested}" already exists.')
    order_date = date_parse(
        payload.get("OrderDate") or today().isoformat(), company=company, field="Order date"
    )
    lines = []
    for line_number, line in enumerate(payload.get("OrderDetails") or [], start=1):
        if (line.get("LineType") or "Item") == "Item":
            line = _item_line(company=company, line=line, allow_backorders=customer.allow_backorders)
        else:
            line = _miscellaneous_line(company=company, line=line, customer=customer)
        lines.append({**line, "LineNumber": line_number})
    if not lines:
        raise field_invalid("The order has no details.")
    uniquifier = counter_next(company=company, name="oe_order")
    number = requested or f"ORD{uniquifier:012d}"
    shipped = any(line.get("QuantityShipped") for line in lines)
    invoiced = shipped and bool(payload.get("InvoiceWillBeProduced"))
    record = {
        **payload,
        "OrderUniquifier": uniquifier,
        "OrderNumber": number,
        "CustomerNumber": customer.number,
        "OrderDate": order_date.isoformat(),
        # Numbered as the simulator likes [U]; SampleIntegration only reads them back.
        "LastShipmentNumber": f"SH{counter_next(company=company, name='oe_shipment'):012d}"
        if shipped
        else "",
        "LastInvoiceNumber": f"IN{counter_next(company=company, name='oe_invoice'):012d}" if invoiced else "",
        "OrderDetails": lines,
    }
    Order.objects.create(company=company, uniquifier=uniquifier, number=number, payload=record)
    return shape_of("OE", "OEOrders").complete(record)
