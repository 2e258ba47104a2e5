"""OEOrders (OE0520): a sales order commits stock at its location as it is entered.

On short stock the order takes what is available and backorders the rest when the customer allows
backorders (ARCustomers.AllowBackorderQuantities), as Order Entry does; for a customer who does not,
the order is refused with 409 FieldInvalid and nothing is committed."""

from decimal import Decimal
from typing import Any

from django.utils import timezone

from simulators.sage300.errors import WebApiError, field_invalid
from simulators.sage300.models import Company, ItemLocation, Order
from simulators.sage300.selectors import Record
from simulators.sage300.services.common import (
    amount_parse,
    counter_next,
    customer_require,
    date_parse,
    payload_check,
)

NEW_ORDER = "*** NEW ***"
_ORDER = frozenset(
    (
        "OrderUniquifier OrderNumber CustomerNumber OrderDate OrderReference OrderDescription "
        "PONumber InvoiceWillBeProduced OrderDetails OrderOptionalFields"
    ).split()
)
_LINE = frozenset(
    (
        "LineNumber LineType Item Location QuantityOrdered OrderUnitPrice PriceOverride "
        "MiscellaneousChargesCode ExtendedAmount UpdateOperation Comment"
    ).split()
)


def _item_line(*, company: Company, line: dict[str, Any], allow_backorders: bool) -> dict[str, Any]:
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
    if quantity <= 0:
        raise field_invalid(f'Quantity ordered for item "{item_number}" must be greater than zero.')
    available = max(row.on_hand - row.committed, Decimal("0"))
    committed = min(quantity, available)
    if committed < quantity and not allow_backorders:
        raise field_invalid(
            f'Quantity ordered {quantity} of item "{item_number}" exceeds the quantity available {available} '
            f'at location "{location}", and the customer does not accept backorders.'
        )
    row.committed += committed
    row.save(update_fields=["committed"])
    override = bool(line.get("PriceOverride"))
    price = (
        amount_parse(line.get("OrderUnitPrice"), field="OrderUnitPrice") if override else row.item.unit_price
    )
    return {
        **line,
        "LineType": "Item",
        "Item": item_number,
        "ItemDescription": row.item.description,
        "Location": location,
        "QuantityOrdered": quantity,
        "QuantityCommitted": committed,
        "QuantityBackordered": quantity - committed,
        "QuantityShipped": Decimal("0"),
        "OrderUnitPrice": price,
        "PriceOverride": override,
        "ExtendedAmount": (quantity * price).quantize(Decimal("0.01")),
    }


def order_create(*, company: Company, payload: Any) -> Record:
    payload_check(payload=payload, allowed=_ORDER, entity="Order")
    customer = customer_require(company=company, number=payload.get("CustomerNumber"))
    requested = str(payload.get("OrderNumber") or NEW_ORDER)
    if requested != NEW_ORDER and Order.objects.filter(company=company, number=requested).exists():
        raise WebApiError(409, "RecordDuplicate", f'Order "{requested}" already exists.')
    order_date = date_parse(payload.get("OrderDate") or timezone.now().date().isoformat(), field="Order date")
    lines = []
    for line_number, raw in enumerate(payload.get("OrderDetails") or [], start=1):
        line = payload_check(payload=raw, allowed=_LINE, entity="OrderDetail")
        if (line.get("LineType") or "Item") == "Item":
            line = _item_line(company=company, line=line, allow_backorders=customer.allow_backorders)
        else:
            line = {
                **line,
                "ExtendedAmount": amount_parse(line.get("ExtendedAmount"), field="ExtendedAmount"),
            }
        lines.append({**line, "LineNumber": line_number})
    if not lines:
        raise field_invalid("The order has no details.")
    uniquifier = counter_next(company=company, name="oe_order")
    number = requested if requested != NEW_ORDER else f"ORD{uniquifier:012d}"
    record = {
        "OrderUniquifier": uniquifier,
        "OrderNumber": number,
        "CustomerNumber": customer.number,
        "OrderDate": order_date.isoformat(),
        "OrderReference": str(payload.get("OrderReference") or ""),
        "OrderDescription": str(payload.get("OrderDescription") or ""),
        "PONumber": str(payload.get("PONumber") or ""),
        "OrderTotal": sum((line["ExtendedAmount"] for line in lines), Decimal("0")),
        "LastShipmentNumber": "",
        "LastInvoiceNumber": "",
        "OrderDetails": lines,
    }
    Order.objects.create(company=company, uniquifier=uniquifier, number=number, payload=record)
    return record
