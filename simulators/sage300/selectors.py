"""Reads: every resource of the simulator as the Web API answers it, in key order. Each record goes
through its shape (`schema.py`), so it carries every property of the type in Sage's order and can hold
no name Sage's artefacts do not have."""

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
    LookupRecord,
    OpenDocument,
    Order,
    PostedReceipt,
)
from simulators.sage300.schema import shape_of

Record = dict[str, Any]

# ARCustomers properties kept in Customer's columns (ARCUS fields the simulator acts on).
CUSTOMER_COLUMNS = {
    "CustomerName": "name",
    "ShortName": "short_name",
    "Status": "status",
    "Email": "email",
    "PhoneNumber": "phone",
    "AddressLine1": "address_line1",
    "AddressLine2": "address_line2",
    "City": "city",
    "StateProvince": "state",
    "ZipPostalCode": "postal_code",
    "Country": "country",
    "CurrencyCode": "currency",
}
# What the simulator's customers are unless a client said otherwise: an open-item account not on hold
# (AccountType and OnHold members as Sage's own ARCustomers sample spells them).
_CUSTOMER_DEFAULTS = {"OnHold": "No", "AccountType": "OpenItem"}
# Batch status property per kind: AR batches carry BatchStatus (InvoiceBatch, ReceiptAndAdjustmentBatch
# in the edmx); Sage's GLJournalBatches sample carries Status.
BATCH_STATUS_FIELD = {
    Batch.Kind.AR_INVOICE: "BatchStatus",
    Batch.Kind.AR_RECEIPT: "BatchStatus",
    Batch.Kind.AR_ADJUSTMENT: "BatchStatus",
    Batch.Kind.GL_JOURNAL: "Status",
}
_BATCH_RESOURCE = {
    Batch.Kind.AR_INVOICE: ("AR", "ARInvoiceBatches"),
    Batch.Kind.AR_RECEIPT: ("AR", "ARReceiptAndAdjustmentBatches"),
    Batch.Kind.AR_ADJUSTMENT: ("AR", "ARReceiptAndAdjustmentBatches"),
    Batch.Kind.GL_JOURNAL: ("GL", "GLJournalBatches"),
}


def odata_date(value: date | None) -> str | None:
    return f"{value.isoformat()}T00:00:00Z" if value else None


def yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def customer_record(customer: Customer, *, balance: Decimal = Decimal("0")) -> Record:
    columns = {name: getattr(customer, attribute) for name, attribute in CUSTOMER_COLUMNS.items()}
    return shape_of("AR", "ARCustomers").complete(
        {
            **_CUSTOMER_DEFAULTS,
            **customer.properties,
            **columns,
            "CustomerNumber": customer.number,
            "AllowBackorderQuantities": yes_no(customer.allow_backorders),
            "DateLastMaintained": odata_date(customer.date_last_maintained),
            "BalanceDueInCustomerCurrency": balance,  # the server's own figure: the open documents' sum
        }
    )


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
    """AROBL as metadata type PostedDocument: the open balance is CustomerCurrencyAmountDue, the
    document's amount CustomerCurrencyInvoiceAmount. The simulator keeps no exchange rates, so the
    functional-currency twins equal them at a rate of 1."""
    return shape_of("AR", "ARPostedDocuments").complete(
        {
            "CustomerNumber": document.customer_number,
            "DocumentNumber": document.document_number,
            "CheckReceiptNumber": document.check_receipt_number,
            "OrderNumber": document.order_number,
            "PONumber": document.po_number,
            "DueDate": odata_date(document.due_date),
            "DocumentType": document.document_type,
            "BatchNumber": document.batch_number,
            "EntryNumber": document.entry_number,
            "DocumentDescription": document.description,
            "DocumentDate": odata_date(document.document_date),
            "CurrencyCode": document.currency,
            "ExchangeRate": Decimal("1"),
            "FunctionalCurrencyInvoiceAmount": document.original_amount,
            "FunctionalCurrencyAmountDue": document.balance,
            "CustomerCurrencyInvoiceAmount": document.original_amount,
            "CustomerCurrencyAmountDue": document.balance,
            "FullyPaid": yes_no(document.balance == 0),
            "LastActivityDate": odata_date(document.last_activity_date),
        }
    )


def documents_records(*, company: Company) -> list[Record]:
    documents = OpenDocument.objects.filter(company=company).order_by("customer_number", "document_number")
    return [document_record(document) for document in documents]


def posted_receipts_records(*, company: Company) -> list[Record]:
    """ARRRH as metadata type PostedReceipt. A deposit is the simulator's batch: its serial and
    number are the batch number and each entry is a line of it."""
    shape = shape_of("AR", "ARPostedReceipts")
    return [
        shape.complete(
            {
                "BankCode": receipt.bank_code,
                "CustomerNumber": receipt.customer_number,
                "CheckReceiptNumber": receipt.check_receipt_number,
                "DepositSerialNumber": receipt.batch_number,
                "DepositLineNumber": receipt.entry_number,
                "ReceiptDate": odata_date(receipt.receipt_date),
                "DepositNumber": receipt.batch_number,
                "CustomerReceiptAmount": receipt.amount,
                "BankReceiptAmount": receipt.amount,  # receipts are refused unless both currencies match
                "FunctionalReceiptAmount": receipt.amount,
                "PaymentCode": receipt.payment_code,
                "CurrencyCode": receipt.currency,
                "BatchNumber": receipt.batch_number,
                "EntryNumber": receipt.entry_number,
                "DocumentType": receipt.document_type,
                "DocumentNumber": receipt.document_number,
            }
        )
        for receipt in PostedReceipt.objects.filter(company=company).order_by(
            "bank_code", "customer_number", "check_receipt_number", "batch_number", "entry_number"
        )
    ]


def batch_record(batch: Batch) -> Record:
    shape = shape_of(*_BATCH_RESOURCE[batch.kind])
    return shape.complete({**batch.payload, BATCH_STATUS_FIELD[batch.kind]: batch.status})


def batches_records(*, company: Company, kinds: tuple[str, ...]) -> list[Record]:
    batches = Batch.objects.filter(company=company, kind__in=kinds).order_by("kind", "number")
    return [batch_record(batch) for batch in batches]


def orders_records(*, company: Company) -> list[Record]:
    shape = shape_of("OE", "OEOrders")
    return [
        shape.complete(order.payload)
        for order in Order.objects.filter(company=company).order_by("uniquifier")
    ]


def accounts_records(*, company: Company) -> list[Record]:
    shape = shape_of("GL", "GLAccounts")
    return [
        shape.complete(
            {
                "UnformattedAccount": account.number,
                "AccountNumber": account.number,
                "Description": account.description,
                "AccountType": account.account_type,
                "NormalBalanceDRCR": account.normal_balance,
                "Status": "Active",
            }
        )
        for account in GLAccount.objects.filter(company=company).order_by("number")
    ]


def item_record(item: Item) -> Record:
    return shape_of("IC", "ICItems").complete(
        {
            **item.properties,
            "ItemNumber": item.number,
            "UnformattedItemNumber": item.number,
            "Description": item.description,
            "StockingUnitOfMeasure": item.unit,
        }
    )


def items_records(*, company: Company) -> list[Record]:
    return [item_record(item) for item in Item.objects.filter(company=company).order_by("number")]


def bank_record(bank: Bank) -> Record:
    # BankAccountNumber stays blank: the simulator keeps no bank account numbers at all.
    return shape_of("BK", "BKBanks").complete(
        {
            **bank.properties,
            "BankCode": bank.code,
            "Description": bank.description,
            "BankAccount": bank.gl_account,
            "StatementCurrency": bank.currency,
        }
    )


def banks_records(*, company: Company) -> list[Record]:
    return [bank_record(bank) for bank in Bank.objects.filter(company=company).order_by("code")]


def lookup_records(*, company: Company, module: str, resource: str) -> list[Record]:
    shape = shape_of(module, resource)
    lookups = LookupRecord.objects.filter(company=company, resource=f"{module}/{resource}").order_by("key")
    return [shape.complete(lookup.payload) for lookup in lookups]
