"""How the simulator's rows look on the wire: the upper-case records of the gateway and the exports.

Money goes out as a string with two decimals and quantities as plain decimal strings, so no client
ever reads an amount through a float.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from simulators.sagepro.models import (
    SproCustomer,
    SproGlBatch,
    SproInvoice,
    SproOrder,
    SproPaymentNote,
    SproReceipt,
    SproStock,
)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def customer_record(customer: SproCustomer) -> dict[str, Any]:
    return {
        "CUSTNO": customer.custno,
        "COMPANY": customer.company,
        "ADDRESS1": customer.address1,
        "ADDRESS2": customer.address2,
        "CITY": customer.city,
        "STATE": customer.state,
        "ZIP": customer.zip,
        "COUNTRY": customer.country,
        "PHONE": customer.phone,
        "EMAIL": customer.email,
        "TERMS": customer.terms,
        "CREDITLMT": _money(customer.creditlmt),
        "CURRENCY": customer.currency,
        "REFERENCE": customer.reference,
        "UPDATED": _stamp(customer.updated_at),
    }


def invoice_record(invoice: SproInvoice) -> dict[str, Any]:
    return {
        "INVNO": invoice.invno,
        "DOCTYPE": invoice.doctype,
        "CUSTNO": invoice.customer.custno,
        "INVDATE": _day(invoice.invdate),
        "DUEDATE": _day(invoice.duedate),
        "INVAMT": _money(invoice.invamt),
        "BALANCE": _money(invoice.balance),
        "CURRENCY": invoice.currency,
        "PONUM": invoice.ponum,
        "REFERENCE": invoice.reference,
        "GLACCT": invoice.glacct,
        "APPLINVNO": invoice.applinvno,
        "DESCRIPT": invoice.descript,
        "PAYSTATUS": invoice.paystatus,
        "UPDATED": _stamp(invoice.updated_at),
    }


def receipt_record(receipt: SproReceipt) -> dict[str, Any]:
    return {
        "RCPTNO": receipt.rcptno,
        "CUSTNO": receipt.customer.custno,
        "CHECKNO": receipt.checkno,
        "PAYDATE": _day(receipt.paydate),
        "PAYAMT": _money(receipt.payamt),
        "UNAPPLIED": _money(receipt.unapplied),
        "CURRENCY": receipt.currency,
        "PAYCODE": receipt.paycode,
        "BANKNO": receipt.bankno,
        "GLACCT": receipt.glacct,
        "BATCH": receipt.batch,
        "DESCRIPT": receipt.descript,
        "STATUS": receipt.status,
        "REVERSES": receipt.reverses.rcptno if receipt.reverses else "",
        "UPDATED": _stamp(receipt.updated_at),
        "APPLS": [
            {"APPLINVNO": a.invoice.invno, "APPLAMT": _money(a.amount)} for a in receipt.applications.all()
        ],
    }


def order_record(order: SproOrder) -> dict[str, Any]:
    return {
        "SONO": order.sono,
        "CUSTNO": order.customer.custno,
        "ORDDATE": _day(order.orddate),
        "PONUM": order.ponum,
        "CURRENCY": order.currency,
        "STATUS": order.status,
        "UPDATED": _stamp(order.updated_at),
        "LINES": [
            {
                "ITEM": line.item.item,
                "LOCTID": line.loctid,
                "QTYORD": _quantity(line.qtyord),
                "QTYALLOC": _quantity(line.qtyalloc),
                "QTYBACK": _quantity(line.qtyback),
                "PRICE": _money(line.price),
            }
            for line in order.lines.all()
        ],
    }


def journal_record(batch: SproGlBatch) -> dict[str, Any]:
    return {
        "BATCH": batch.batch,
        "TRANDATE": _day(batch.trandate),
        "REFERENCE": batch.reference,
        "DESCRIPT": batch.descript,
        "UPDATED": _stamp(batch.updated_at),
        "LINES": [
            {
                "GLACNT": line.account.glacnt,
                "DEBIT": _money(line.debit),
                "CREDIT": _money(line.credit),
                "DESCRIPT": line.descript,
            }
            for line in batch.lines.all()
        ],
    }


def stock_record(stock: SproStock) -> dict[str, Any]:
    return {
        "ITEM": stock.item.item,
        "DESCRIP": stock.item.descrip,
        "PRICE": _money(stock.item.price),
        "LOCTID": stock.loctid,
        "ONHAND": _quantity(stock.onhand),
        "ALLOC": _quantity(stock.alloc),
    }


def payment_note_record(note: SproPaymentNote) -> dict[str, Any]:
    return {
        "NOTENO": note.noteno,
        "CUSTNO": note.customer.custno,
        "INVNO": note.invoice.invno if note.invoice else "",
        "SONO": note.order.sono if note.order else "",
        "PAYSTATUS": note.paystatus,
        "NOTE": note.note,
        "REFERENCE": note.reference,
        "NOTEDATE": _day(note.notedate),
        "UPDATED": _stamp(note.updated_at),
    }
