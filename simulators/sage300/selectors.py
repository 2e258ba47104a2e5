"""Reads: every resource of the simulator as the Web API's records (field names and casing as Sage 300
serves them), in key order. Names not in the Sage reference are marked [U] where they are defined."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from simulators.sage300.models import (
    Bank,
    Batch,
    Company,
    Customer,
    GLAccount,
    Item,
    ItemLocation,
    OpenDocument,
    Order,
    PostedReceipt,
)

Record = dict[str, Any]


def odata_date(value: date | None) -> str | None:
    return f"{value.isoformat()}T00:00:00Z" if value else None


def yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def customer_record(customer: Customer, *, balance: Decimal = Decimal("0")) -> Record:
    return {
        "CustomerNumber": customer.number,
        "ShortName": customer.short_name,
        "Status": customer.status,
        "DateLastMaintained": odata_date(customer.date_last_maintained),
        "OnHold": "No",
        "CustomerName": customer.name,
        "AddressLine1": customer.address_line1,
        "AddressLine2": customer.address_line2,
        "City": customer.city,
        "StateProvince": customer.state,
        "ZipPostalCode": customer.postal_code,
        "Country": customer.country,
        "PhoneNumber": customer.phone,
        "CurrencyCode": customer.currency,
        "AccountType": "OpenItem",
        "BalanceDueInCustomerCurrency": balance,
        "Email": customer.email,
        "AllowBackorderQuantities": yes_no(customer.allow_backorders),
    }


def customers_records(*, company: Company) -> list[Record]:
    balances = dict(
        OpenDocument.objects.filter(company=company)
        .values("customer_number")
        .annotate(total=Sum("balance"))
        .values_list("customer_number", "total")
    )
    return [
        customer_record(customer, balance=balances.get(customer.number, Decimal("0")))
        for customer in Customer.objects.filter(company=company).order_by("number")
    ]


def document_record(document: OpenDocument) -> Record:
    # AROBL field names beyond CustomerNumber/DocumentNumber/DocumentType/FullyPaid/DueDate/OrderNumber/
    # PONumber/BatchNumber/EntryNumber are [U]: the amount names follow the ARCustomers pattern.
    return {
        "CustomerNumber": document.customer_number,
        "DocumentNumber": document.document_number,
        "PaymentNumber": 1,
        "DocumentType": document.document_type,
        "DocumentDate": odata_date(document.document_date),
        "DueDate": odata_date(document.due_date),
        "CurrencyCode": document.currency,
        "OriginalAmountInCustomerCurrency": document.original_amount,
        "CurrentBalanceInCustomerCurrency": document.balance,
        "FullyPaid": yes_no(document.balance == 0),
        "OrderNumber": document.order_number,
        "PONumber": document.po_number,
        "DocumentDescription": document.description,
        "BatchNumber": document.batch_number,
        "EntryNumber": document.entry_number,
    }


def documents_records(*, company: Company) -> list[Record]:
    documents = OpenDocument.objects.filter(company=company).order_by("customer_number", "document_number")
    return [document_record(document) for document in documents]


def posted_receipts_records(*, company: Company) -> list[Record]:
    return [
        {
            "CustomerNumber": receipt.customer_number,
            "CheckReceiptNumber": receipt.check_receipt_number,
            "BatchNumber": receipt.batch_number,
            "EntryNumber": receipt.entry_number,
            "BankCode": receipt.bank_code,
            "ReceiptDate": odata_date(receipt.receipt_date),
            "EntryDescription": receipt.description,
            "EntryReference": receipt.entry_reference,
            "CustomerReceiptAmount": receipt.amount,
            "CustomerUnappliedAmount": receipt.unapplied,
        }
        for receipt in PostedReceipt.objects.filter(company=company).order_by("customer_number", "pk")
    ]


def batches_records(*, company: Company, kind: str) -> list[Record]:
    return [
        {**batch.payload, "BatchStatus": batch.status}
        for batch in Batch.objects.filter(company=company, kind=kind).order_by("number")
    ]


def orders_records(*, company: Company) -> list[Record]:
    return [order.payload for order in Order.objects.filter(company=company).order_by("uniquifier")]


def accounts_records(*, company: Company) -> list[Record]:
    return [
        {
            "UnformattedAccount": account.number,
            "AccountNumber": account.number,
            "Description": account.description,
            "AccountType": account.account_type,
            "NormalBalanceDRCR": account.normal_balance,
            "Status": "Active",
        }
        for account in GLAccount.objects.filter(company=company).order_by("number")
    ]


def items_records(*, company: Company) -> list[Record]:
    return [
        {
            "ItemNumber": item.number,
            "UnformattedItemNumber": item.number,
            "Description": item.description,
            "StockItem": True,
            "StockingUnitOfMeasure": item.unit,
            "Status": "Active",
        }
        for item in Item.objects.filter(company=company).order_by("number")
    ]


def item_locations_records(*, company: Company) -> list[Record]:
    # ICLocationDetails (ICILOC) is not in the reference's samples [U]; the quantity names follow ICILOC.
    rows = (
        ItemLocation.objects.filter(item__company=company)
        .select_related("item")
        .order_by("item__number", "location")
    )
    return [
        {
            "ItemNumber": row.item.number,
            "Location": row.location,
            "QuantityOnHand": row.on_hand,
            "QuantityCommitted": row.committed,
            "QuantityAvailable": row.on_hand - row.committed,
        }
        for row in rows
    ]


def banks_records(*, company: Company) -> list[Record]:
    # BankAccountNumber is left out: the simulator keeps no bank account numbers at all.
    return [
        {
            "BankCode": bank.code,
            "Description": bank.description,
            "BankAccount": bank.gl_account,
            "StatementCurrency": bank.currency,
        }
        for bank in Bank.objects.filter(company=company).order_by("code")
    ]
