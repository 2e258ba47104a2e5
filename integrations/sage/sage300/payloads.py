"""Our typed values <-> Sage 300 Web API records. Property order follows Sage's samples: the Web API
applies properties to the business view in payload order, keys first."""

import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from integrations.sage.base import (
    Address,
    CreditMemoData,
    CustomerData,
    ErpCustomer,
    ErpInvoice,
    InvoiceData,
    JournalEntryData,
    ReceiptData,
    ReversalData,
    SalesOrderData,
)

Record = dict[str, Any]
CUSTOMER_NUMBER_LENGTH = 12  # ARCUS.IDCUST
DOCUMENT_NUMBER_LENGTH = 22  # AROBL.IDINVC
DESCRIPTION_LENGTH = 60


def sage_date(value: date) -> str:
    return value.isoformat()


def date_from(value: Any) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def customer_number_for(customer: CustomerData) -> str:
    """Sage 300 does not number customers: we do. Our reference (the PayTrace customer id) when it fits
    the key, else a stable digest of it (or of name and e-mail), so a retry picks the same number."""
    if customer.reference:
        return customer_number_from_reference(customer.reference)
    seed = f"{customer.name.strip().lower()}|{customer.email.strip().lower()}"
    return "PS" + hashlib.sha256(seed.encode()).hexdigest()[:10].upper()


def customer_number_from_reference(reference: str) -> str:
    cleaned = re.sub(r"[^A-Z0-9-]", "", reference.upper())
    if cleaned and len(cleaned) <= CUSTOMER_NUMBER_LENGTH:
        return cleaned
    return "PS" + hashlib.sha256(reference.encode()).hexdigest()[:10].upper()


def customer_body(customer: CustomerData, *, number: str, group: str = "") -> Record:
    address = customer.address
    body: Record = {"CustomerNumber": number, "ShortName": customer.name[:10]}
    if group:
        body["GroupCode"] = group
    body.update(
        {
            "CustomerName": customer.name[:60],
            "AddressLine1": address.line1[:60],
            "AddressLine2": address.line2[:60],
            "City": address.city[:30],
            "StateProvince": address.state[:30],
            "ZipPostalCode": address.postal_code[:20],
            "Country": address.country[:30],
            "PhoneNumber": customer.phone[:30],
            "Email": customer.email[:50],
            "CurrencyCode": customer.currency,
        }
    )
    return body


def customer_from(record: Record) -> ErpCustomer:
    maintained = date_from(record.get("DateLastMaintained"))
    return ErpCustomer(
        number=record["CustomerNumber"],
        name=record.get("CustomerName") or "",
        email=record.get("Email") or "",
        phone=record.get("PhoneNumber") or "",
        currency=record.get("CurrencyCode") or "",
        address=Address(
            line1=record.get("AddressLine1") or "",
            line2=record.get("AddressLine2") or "",
            city=record.get("City") or "",
            state=record.get("StateProvince") or "",
            postal_code=record.get("ZipPostalCode") or "",
            country=record.get("Country") or "",
        ),
        updated_at=datetime(maintained.year, maintained.month, maintained.day, tzinfo=UTC)
        if maintained
        else None,
        raw=record,
    )


def invoice_from(record: Record) -> ErpInvoice:
    """An ARPostedDocuments record (metadata type PostedDocument): the document's amount and its open
    balance in the customer's currency."""
    return ErpInvoice(
        number=record["DocumentNumber"],
        customer_number=record["CustomerNumber"],
        currency=record.get("CurrencyCode") or "",
        amount=Decimal(record.get("CustomerCurrencyInvoiceAmount") or 0),
        balance=Decimal(record.get("CustomerCurrencyAmountDue") or 0),
        issued_on=date_from(record.get("DocumentDate")) or date.min,
        due_on=date_from(record.get("DueDate")),
        reference=record.get("OrderNumber") or record.get("PONumber") or "",
        raw=record,
    )


def sales_order_body(order: SalesOrderData, *, location: str) -> Record:
    lines = []
    for line in order.lines:
        detail: Record = {"LineType": "Item", "Item": line.sku}
        if location:
            detail["Location"] = location
        # The storefront's price is what was charged: override the price list. No Sage artefact shows
        # these two names (Sage publishes no OE metadata and its OEOrders samples take list prices); they
        # are the ones third-party clients of the Web API send.
        detail.update(QuantityOrdered=line.quantity, PriceOverride=True, OrderUnitPrice=line.unit_price)
        lines.append(detail)
    # No OrderNumber: Sage's OEOrders samples send none and the server numbers the order.
    return {
        "CustomerNumber": order.customer_number,
        "OrderDate": sage_date(order.order_date),
        "OrderReference": order.reference,
        "OrderDescription": f"Storefront order {order.reference}"[:DESCRIPTION_LENGTH],
        "OrderDetails": lines,
    }


def receipt_entry(receipt: ReceiptData) -> Record:
    """One receipt: the PayTrace transaction id goes in CheckReceiptNumber (the receipt's own number in
    Sage) and in EntryReference; what is not applied stays on account. A receipt with nothing to apply
    is entered as UnappliedCash, because Sage refuses a plain Receipt without applications. (Sage's
    samples show only the ReceiptTransactionType Prepayment; Receipt and UnappliedCash are the Receipt
    Entry types by name, unproven on the wire.)"""
    return {
        "CustomerNumber": receipt.customer_number,
        "CheckReceiptNumber": receipt.reference,
        "ReceiptDateAdjustmentDate": sage_date(receipt.receipt_date),
        "EntryDescription": (receipt.description or f"PayTrace {receipt.reference}")[:DESCRIPTION_LENGTH],
        "EntryReference": receipt.reference,
        "ReceiptTransactionType": "Receipt" if receipt.applications else "UnappliedCash",
        "PaymentCode": receipt.payment_code,
        "BankReceiptAmount": receipt.amount,
        "CustomerReceiptAmount": receipt.amount,
        "AppliedReceiptsAdjustments": [
            {
                "DocumentNumber": application.invoice_number,
                "PaymentNumber": 1,
                "CustomerReceiptAmount": application.amount,
            }
            for application in receipt.applications
        ],
    }


def receipt_batch_body(receipts: list[ReceiptData], *, bank_code: str) -> Record:
    batch_date = min(receipt.receipt_date for receipt in receipts)
    return {
        "BatchRecordType": "CA",
        "BatchDate": sage_date(batch_date),
        "Description": f"PayTrace receipts {batch_date.isoformat()}",
        "BankCode": bank_code,
        "BatchStatus": "ReadyToPost",
        "ReceiptsAdjustments": [receipt_entry(receipt) for receipt in receipts],
    }


def credit_note_batch_body(memo: CreditMemoData, *, description: str) -> Record:
    invoice: Record = {
        "CustomerNumber": memo.customer_number,
        "DocumentNumber": memo.reference,
        "DocumentType": "CreditNote",
        "InvoiceType": "Summary",
        "DocumentDate": sage_date(memo.document_date),
        "InvoiceDescription": (memo.description or f"Refund of {memo.original_reference}")[
            :DESCRIPTION_LENGTH
        ],
    }
    if memo.invoice_number:
        invoice["ApplytoDocument"] = memo.invoice_number
    detail: Record = {"LineNumber": 20}
    if memo.account:
        detail["RevenueAccount"] = memo.account
    elif memo.defaults.get("DistributionCode"):
        detail["DistributionCode"] = memo.defaults["DistributionCode"]
    detail["ExtendedAmountWithTIP"] = memo.amount
    invoice["InvoiceDetails"] = [detail]
    return {
        "BatchDate": sage_date(memo.document_date),
        "Description": description,
        "BatchStatus": "ReadyToPost",
        "Invoices": [invoice],
    }


def invoice_batch_body(invoice: InvoiceData, *, description: str) -> Record:
    """One summary invoice numbered by our reference, its one detail on the revenue account (or the
    mapping's distribution code), as the credit note's body is."""
    detail: Record = {"LineNumber": 20, "ExtendedAmountWithTIP": invoice.amount}
    if invoice.account:
        detail["RevenueAccount"] = invoice.account
    elif invoice.defaults.get("DistributionCode"):
        detail["DistributionCode"] = invoice.defaults["DistributionCode"]
    return {
        "BatchDate": sage_date(invoice.invoice_date),
        "Description": description,
        "BatchStatus": "ReadyToPost",
        "Invoices": [
            {
                "CustomerNumber": invoice.customer_number,
                "DocumentNumber": invoice.reference,
                "DocumentType": "Invoice",
                "InvoiceType": "Summary",
                "DocumentDate": sage_date(invoice.invoice_date),
                "DueDate": sage_date(invoice.due_date),
                "InvoiceDescription": (invoice.description or invoice.reference)[:DESCRIPTION_LENGTH],
                "InvoiceDetails": [detail],
            }
        ],
    }


def journal_batch_body(entry: JournalEntryData, *, description: str) -> Record:
    """Ready to post: GL batches carry `Status` (Sage's GLJournalBatches sample; the AR batches'
    BatchStatus is not a GL property), and ReadyToPost is a GL JournalBatchStatus member. That a POST
    may set it is inferred from the AR batches, not shown for GL by any artefact."""
    return {
        "Description": description,
        "Status": "ReadyToPost",
        "JournalHeaders": [
            {
                "SourceLedger": "GL",
                "SourceType": "JE",
                "Description": entry.description[:DESCRIPTION_LENGTH],
                "DocumentDate": sage_date(entry.entry_date),
                "JournalDetails": [
                    {
                        "AccountNumber": line.account,
                        "Amount": line.debit - line.credit,  # +debit / -credit
                        "Description": (line.description or entry.description)[:DESCRIPTION_LENGTH],
                        "Reference": entry.reference[:DESCRIPTION_LENGTH],
                    }
                    for line in entry.lines
                ],
            }
        ],
    }


def reversal_lines(receipt: Record, *, amount: Decimal) -> list[tuple[str, Decimal]]:
    """Which documents a reversal gives back, and how much: the part left on account first (the
    unapplied-cash document Sage numbers with the entry's DocumentNumber), then the applications from
    the last one back, until `amount` is reached."""
    pieces = [(receipt["DocumentNumber"], Decimal(receipt.get("CustomerUnappliedAmount") or 0))]
    pieces += [
        (line["DocumentNumber"], Decimal(line["CustomerReceiptAmount"]))
        for line in reversed(receipt.get("AppliedReceiptsAdjustments") or [])
    ]
    lines, remaining = [], amount
    for document_number, available in pieces:
        take = min(available, remaining)
        if take > 0:
            lines.append((document_number, take))
            remaining -= take
    if remaining > 0:
        raise ValueError(f"the reversal exceeds receipt {receipt['CheckReceiptNumber']} by {remaining}")
    return lines


def reversal_batch_body(
    reversal: ReversalData, *, lines: list[tuple[str, Decimal]], bank_account: str, description: str
) -> Record:
    """An AD adjustment per document: crediting the bank's GL account (a negative distribution) debits
    the customer, so the invoice is open again and the on-account credit is gone."""
    return {
        "BatchRecordType": "AD",
        "BatchDate": sage_date(reversal.document_date),
        "Description": description,
        "BatchStatus": "ReadyToPost",
        "ReceiptsAdjustments": [
            {
                "CustomerNumber": reversal.customer_number,
                "ReceiptDateAdjustmentDate": sage_date(reversal.document_date),
                "EntryDescription": (reversal.description or f"Reversal of {reversal.original_reference}")[
                    :DESCRIPTION_LENGTH
                ],
                "EntryReference": reversal.reference,
                "AppliedReceiptsAdjustments": [
                    {
                        "DocumentNumber": document_number,
                        "AdjustmentGLDistributions": [
                            {"DistributionGLAccount": bank_account, "DistributionAmount": -amount}
                        ],
                    }
                    for document_number, amount in lines
                ],
            }
        ],
    }
