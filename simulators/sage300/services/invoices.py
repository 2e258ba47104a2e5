"""ARInvoiceBatches (AR0031): entering invoices, debit and credit notes, and posting them into AROBL.
A credit note applied to a document (ApplytoDocument) reduces it; what is left is a credit on account."""

from typing import Any

from django.utils import timezone

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company, OpenDocument
from simulators.sage300.selectors import Record
from simulators.sage300.services.common import (
    account_require,
    amount_parse,
    batch_status_parse,
    counter_next,
    customer_require,
    date_parse,
    payload_check,
)
from simulators.sage300.services.open_items import (
    ZERO,
    balance_move,
    document_require,
    entries_require,
    open_document_add,
    unposted_payloads,
)

_INVOICE_BATCH = frozenset(("BatchNumber BatchDate BatchStatus Description Invoices").split())
_INVOICE = frozenset(
    (
        "BatchNumber EntryNumber CustomerNumber DocumentNumber DocumentType TransactionType "
        "InvoiceType DocumentDate DueDate InvoiceDescription OrderNumber PONumber ApplytoDocument "
        "CurrencyCode Terms AccountSet InvoiceDetails InvoicePaymentSchedules"
    ).split()
)
_INVOICE_DETAIL = frozenset(
    (
        "BatchNumber EntryNumber LineNumber DistributionCode RevenueAccount Description ExtendedAmountWithTIP"
    ).split()
)
_PAYMENT_SCHEDULE = frozenset(("BatchNumber EntryNumber PaymentNumber AmountDue DueDate").split())
_DOCUMENT_PREFIX = {"Invoice": "IN", "DebitNote": "DN", "CreditNote": "CN"}


def invoice_batch_create(*, company: Company, payload: Any) -> Record:
    payload_check(payload=payload, allowed=_INVOICE_BATCH, entity="InvoiceBatch")
    status = batch_status_parse(payload.get("BatchStatus"))
    batch_date = date_parse(payload.get("BatchDate") or timezone.now().date().isoformat(), field="Batch date")
    taken = {
        (entry["CustomerNumber"], entry["DocumentNumber"])
        for pending in unposted_payloads(company=company, kind=Batch.Kind.AR_INVOICE)
        for entry in pending["Invoices"]
    }
    number = counter_next(company=company, name="ar_invoice_batch")
    invoices = []
    for entry_number, raw in enumerate(entries_require(payload, "Invoices"), start=1):
        entry = payload_check(payload=raw, allowed=_INVOICE, entity="Invoice")
        customer = customer_require(company=company, number=entry.get("CustomerNumber"))
        document_type = entry.get("DocumentType") or "Invoice"
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
            raise field_invalid(
                f'Document number "{document_number}" already exists for "{customer.number}".'
            )
        taken.add(key)
        if entry.get("ApplytoDocument"):
            document_require(
                company=company, customer_number=customer.number, number=entry["ApplytoDocument"]
            )
        document_date = date_parse(entry.get("DocumentDate") or batch_date.isoformat(), field="Document date")
        details = []
        for line_number, detail in enumerate(entries_require(entry, "InvoiceDetails"), start=1):
            payload_check(payload=detail, allowed=_INVOICE_DETAIL, entity="InvoiceDetail")
            if detail.get("RevenueAccount"):
                account_require(company=company, number=detail["RevenueAccount"])
            amount = amount_parse(detail.get("ExtendedAmountWithTIP"), field="ExtendedAmountWithTIP")
            details.append(
                {
                    **detail,
                    "BatchNumber": number,
                    "EntryNumber": entry_number,
                    "LineNumber": line_number * 20,
                    "ExtendedAmountWithTIP": amount,
                }
            )
        for schedule in entry.get("InvoicePaymentSchedules") or []:
            # One payment per document here: schedules are checked for shape, the balance is the total.
            payload_check(payload=schedule, allowed=_PAYMENT_SCHEDULE, entity="InvoicePaymentSchedule")
        total = sum((detail["ExtendedAmountWithTIP"] for detail in details), ZERO)
        if total <= 0:
            raise field_invalid(f'Document "{document_number}" total must be greater than zero.')
        due_date = date_parse(entry.get("DueDate"), field="Due date", required=False) or document_date
        invoices.append(
            {
                **entry,
                "BatchNumber": number,
                "EntryNumber": entry_number,
                "CustomerNumber": customer.number,
                "DocumentNumber": document_number,
                "DocumentType": document_type,
                "DocumentDate": document_date.isoformat(),
                "DueDate": due_date.isoformat(),
                "CurrencyCode": customer.currency,
                "InvoiceDetails": details,
                "DocumentTotalIncludingTax": total,
            }
        )
    record = {
        "BatchNumber": number,
        "BatchDate": batch_date.isoformat(),
        "Description": str(payload.get("Description") or ""),
        "NumberOfEntries": len(invoices),
        "BatchTotal": sum((entry["DocumentTotalIncludingTax"] for entry in invoices), ZERO),
        "Invoices": invoices,
    }
    Batch.objects.create(
        company=company, kind=Batch.Kind.AR_INVOICE, number=number, status=status, payload=record
    )
    return {**record, "BatchStatus": status}


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
