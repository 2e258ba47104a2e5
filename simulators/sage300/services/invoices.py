"""ARInvoiceBatches (AR0031, metadata type InvoiceBatch): entering invoices, debit notes, credit notes
and interest charges, and posting them into AROBL. A credit note applied to a document
(ApplytoDocument) reduces it; what is left is a credit on account."""

from datetime import date
from typing import Any

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company, OpenDocument
from simulators.sage300.selectors import Record, batch_record
from simulators.sage300.services.common import (
    account_require,
    amount_parse,
    batch_status_parse,
    counter_next,
    customer_require,
    date_parse,
    today,
)
from simulators.sage300.services.masters import lookup_get
from simulators.sage300.services.open_items import (
    ZERO,
    balance_move,
    document_require,
    entries_require,
    open_document_add,
    unposted_payloads,
)

_DOCUMENT_PREFIX = {"Invoice": "IN", "DebitNote": "DN", "CreditNote": "CN", "Interest": "IT"}
# Sage's ARInvoiceBatches sample enters its fourth document, an interest charge (TransactionType
# InterestCharge), as DocumentType "4": the member's number, read here as the member.
_DOCUMENT_TYPE_NUMBERS = {"4": "Interest"}


def _detail(*, company: Company, detail: dict[str, Any], number: int, entry_number: int, line: int) -> dict:
    if detail.get("DistributionCode") and not lookup_get(
        company=company,
        module="AR",
        resource="ARDistributionCodes",
        values={"DistributionCodeKey": detail["DistributionCode"]},
    ):
        raise field_invalid(f'Distribution code "{detail["DistributionCode"]}" does not exist.')
    if detail.get("RevenueAccount"):
        account_require(company=company, number=detail["RevenueAccount"])
    return {
        **detail,
        "BatchNumber": number,
        "EntryNumber": entry_number,
        "LineNumber": line * 20,
        "ExtendedAmountWithTIP": amount_parse(
            detail.get("ExtendedAmountWithTIP"), field="ExtendedAmountWithTIP"
        ),
    }


def _invoice(
    *, company: Company, entry: dict[str, Any], number: int, entry_number: int, batch_date: date, taken: set
) -> dict[str, Any]:
    customer = customer_require(company=company, number=entry.get("CustomerNumber"))
    document_type = str(entry.get("DocumentType") or "Invoice")
    document_type = _DOCUMENT_TYPE_NUMBERS.get(document_type, document_type)
    if document_type not in _DOCUMENT_PREFIX:
        raise field_invalid(f'Document type "{document_type}" is not valid.')
    document_number = str(entry.get("DocumentNumber") or "") or (
        f"{_DOCUMENT_PREFIX[document_type]}{counter_next(company=company, name='ar_document'):010d}"
    )
    key = (customer.number, document_number)
    if (
        key in taken
        or OpenDocument.objects.filter(
            company=company, customer_number=customer.number, document_number=document_number
        ).exists()
    ):
        raise field_invalid(f'Document number "{document_number}" already exists for "{customer.number}".')
    taken.add(key)
    if entry.get("ApplytoDocument"):
        document_require(company=company, customer_number=customer.number, number=entry["ApplytoDocument"])
    dates = {
        name: date_parse(entry.get(name), company=company, field=name, required=False)
        for name in ("DocumentDate", "DueDate", "AsOfDate", "PostingDate")
    }
    document_date = dates["DocumentDate"] or batch_date
    details = [
        _detail(company=company, detail=detail, number=number, entry_number=entry_number, line=line)
        for line, detail in enumerate(entries_require(entry, "InvoiceDetails"), start=1)
    ]
    # One payment per document: schedules are kept as sent, the balance is the documents' total.
    total = sum((detail["ExtendedAmountWithTIP"] for detail in details), ZERO)
    if total <= 0:
        raise field_invalid(f'Document "{document_number}" total must be greater than zero.')
    return {
        **entry,
        "BatchNumber": number,
        "EntryNumber": entry_number,
        "CustomerNumber": customer.number,
        "DocumentNumber": document_number,
        "DocumentType": document_type,
        "DocumentDate": document_date.isoformat(),
        "DueDate": (dates["DueDate"] or document_date).isoformat(),
        "CurrencyCode": customer.currency,
        "InvoiceDetails": details,
        "DocumentTotalIncludingTax": total,
    }


def invoice_batch_create(*, company: Company, payload: dict[str, Any]) -> Record:
    status = batch_status_parse(payload.get("BatchStatus"))
    batch_date = date_parse(
        payload.get("BatchDate") or today().isoformat(), company=company, field="Batch date"
    )
    taken = {
        (entry["CustomerNumber"], entry["DocumentNumber"])
        for pending in unposted_payloads(company=company, kind=Batch.Kind.AR_INVOICE)
        for entry in pending["Invoices"]
    }
    number = counter_next(company=company, name="ar_invoice_batch")
    invoices = [
        _invoice(
            company=company,
            entry=entry,
            number=number,
            entry_number=entry_number,
            batch_date=batch_date,
            taken=taken,
        )
        for entry_number, entry in enumerate(entries_require(payload, "Invoices"), start=1)
    ]
    record = {
        "BatchNumber": number,
        "BatchDate": batch_date.isoformat(),
        "Description": str(payload.get("Description") or ""),
        "NumberOfEntries": len(invoices),
        "BatchTotal": sum((entry["DocumentTotalIncludingTax"] for entry in invoices), ZERO),
        "Invoices": invoices,
    }
    batch = Batch.objects.create(
        company=company, kind=Batch.Kind.AR_INVOICE, number=number, status=status, payload=record
    )
    return batch_record(batch)


def invoice_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["Invoices"]:
        total = entry["DocumentTotalIncludingTax"]
        if entry["DocumentType"] != "CreditNote":
            open_document_add(
                company=company, batch=batch, entry=entry, document_type=entry["DocumentType"], amount=total
            )
            continue
        credit = total
        if entry.get("ApplytoDocument"):
            target = OpenDocument.objects.get(
                company=company,
                customer_number=entry["CustomerNumber"],
                document_number=entry["ApplytoDocument"],
            )
            applied = min(credit, max(target.balance, ZERO))
            balance_move(
                company=company,
                customer_number=target.customer_number,
                number=target.document_number,
                change=-applied,
            )
            credit -= applied
        open_document_add(
            company=company,
            batch=batch,
            entry=entry,
            document_type="CreditNote",
            amount=-total,
            balance=-credit,
        )
