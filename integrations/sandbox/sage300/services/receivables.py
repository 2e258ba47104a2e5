"""AR transactions: invoice batches (AR0031), receipt and adjustment batches (AR0041), and posting them.

Entering a batch changes no balance; posting does, as in Sage 300: invoices and credit notes become
open documents (AROBL), receipts reduce the documents they are applied to and leave any remainder as
unapplied cash (on account), adjustments move a document's balance against a GL account. A receipt can
never take a document below zero, counting what unposted batches already apply to it.
"""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone

from integrations.sandbox.sage300.errors import WebApiError, field_invalid
from integrations.sandbox.sage300.models import Batch, Company, OpenDocument, PostedReceipt
from integrations.sandbox.sage300.selectors import Record
from integrations.sandbox.sage300.services.common import (
    account_require,
    amount_parse,
    bank_require,
    batch_status_parse,
    counter_next,
    customer_require,
    date_parse,
    payload_check,
)

ZERO = Decimal("0")
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
_RECEIPT_BATCH = frozenset(
    (
        "BatchRecordType BatchNumber BatchDate Description BankCode DefaultBankCurrency "
        "BatchStatus NumberOfEntries BatchTotal ReceiptsAdjustments"
    ).split()
)
_RECEIPT = frozenset(
    (
        "BatchType BatchNumber EntryNumber CustomerNumber CheckReceiptNumber DocumentNumber "
        "ReceiptDateAdjustmentDate EntryDescription EntryReference BankReceiptAmount "
        "CustomerReceiptAmount TotalCustomerAmountApplied CustomerUnappliedAmount "
        "ReceiptTransactionType PaymentCode BankCode DocumentType AppliedReceiptsAdjustments "
        "MiscellaneousReceipts"
    ).split()
)
_APPLIED = frozenset(
    (
        "BatchType BatchNumber EntryNumber LineNumber CustomerNumber DocumentNumber PaymentNumber "
        "CustomerReceiptAmount CustomerDiscountAmountTaken TransactionType DocumentAmountDue "
        "AdjustmentGLDistributions Description Reference"
    ).split()
)
_DISTRIBUTION = frozenset(
    (
        "BatchType BatchNumber EntryNumber LineNumber SequenceNumber TransactionType "
        "DistributionAmount DistributionCode DistributionGLAccount"
    ).split()
)
_DOCUMENT_PREFIX = {"Invoice": "IN", "DebitNote": "DN", "CreditNote": "CN"}
_RECEIPT_TYPES = ("Receipt", "UnappliedCash", "Prepayment")
_KIND_BY_RECORD_TYPE = {"CA": Batch.Kind.AR_RECEIPT, "AD": Batch.Kind.AR_ADJUSTMENT}


def _entries(payload: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = payload.get(name) or []
    if not isinstance(entries, list) or not entries:
        raise field_invalid(f"The batch has no entries ({name} is empty).")
    return entries


def _document_open(*, company: Company, customer_number: str, number: Any) -> OpenDocument:
    document = OpenDocument.objects.filter(
        company=company, customer_number=customer_number, document_number=str(number or "")
    ).first()
    if document is None:
        raise field_invalid(f'Document "{number}" does not exist for customer "{customer_number}".')
    return document


def _unposted_payloads(*, company: Company, kind: str) -> list[dict[str, Any]]:
    return list(
        Batch.objects.filter(company=company, kind=kind)
        .exclude(status="Posted")
        .values_list("payload", flat=True)
    )


def invoice_batch_create(*, company: Company, payload: Any) -> Record:
    payload_check(payload=payload, allowed=_INVOICE_BATCH, entity="InvoiceBatch")
    status = batch_status_parse(payload.get("BatchStatus"))
    batch_date = date_parse(payload.get("BatchDate") or timezone.now().date().isoformat(), field="Batch date")
    taken = {
        (entry["CustomerNumber"], entry["DocumentNumber"])
        for pending in _unposted_payloads(company=company, kind=Batch.Kind.AR_INVOICE)
        for entry in pending["Invoices"]
    }
    number = counter_next(company=company, name="ar_invoice_batch")
    invoices = []
    for entry_number, raw in enumerate(_entries(payload, "Invoices"), start=1):
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
            _document_open(company=company, customer_number=customer.number, number=entry["ApplytoDocument"])
        document_date = date_parse(entry.get("DocumentDate") or batch_date.isoformat(), field="Document date")
        details = []
        for line_number, detail in enumerate(_entries(entry, "InvoiceDetails"), start=1):
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


def _pending_applied(*, company: Company) -> dict[tuple[str, str], Decimal]:
    pending: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for batch in _unposted_payloads(company=company, kind=Batch.Kind.AR_RECEIPT):
        for entry in batch["ReceiptsAdjustments"]:
            for line in entry["AppliedReceiptsAdjustments"]:
                pending[(entry["CustomerNumber"], line["DocumentNumber"])] += line["CustomerReceiptAmount"]
    return pending


def _receipt_entry(*, company: Company, raw: Any, pending: dict, bank_currency: str) -> dict[str, Any]:
    entry = payload_check(payload=raw, allowed=_RECEIPT, entity="ReceiptAdjustment")
    customer = customer_require(company=company, number=entry.get("CustomerNumber"))
    if customer.currency != bank_currency:
        raise field_invalid(
            f'Customer "{customer.number}" currency {customer.currency} differs from the bank currency '
            f"{bank_currency}."
        )
    amount = amount_parse(
        entry.get("CustomerReceiptAmount", entry.get("BankReceiptAmount")),
        field="Receipt amount",
        default=ZERO,
    )
    reference = entry.get("CheckReceiptNumber") or ""
    if amount <= 0:
        raise field_invalid("Receipt amount must be greater than zero.")
    transaction_type = entry.get("ReceiptTransactionType") or "Receipt"
    if transaction_type not in _RECEIPT_TYPES:
        raise field_invalid(f'Receipt transaction type "{transaction_type}" is not valid.')
    lines = []
    for line_number, raw_line in enumerate(entry.get("AppliedReceiptsAdjustments") or [], start=1):
        line = payload_check(payload=raw_line, allowed=_APPLIED, entity="AppliedReceiptAdjustment")
        document = _document_open(
            company=company, customer_number=customer.number, number=line.get("DocumentNumber")
        )
        applied = amount_parse(line.get("CustomerReceiptAmount"), field="Applied amount")
        key = (customer.number, document.document_number)
        available = document.balance - pending[key]
        if applied <= 0 or applied > available:
            raise field_invalid(
                f'Receipt "{reference}": applied amount {applied} exceeds the balance {available} '
                f'of document "{document.document_number}".'
            )
        pending[key] += applied
        lines.append(
            {
                **line,
                "LineNumber": line_number * 20,
                "CustomerNumber": customer.number,
                "DocumentNumber": document.document_number,
                "PaymentNumber": 1,
                "CustomerReceiptAmount": applied,
                "DocumentAmountDue": document.balance,
            }
        )
    if transaction_type == "Receipt" and not lines:
        # The community-reported gotcha: a plain Receipt needs an application; cash on account is
        # entered as UnappliedCash (or Prepayment).
        raise field_invalid(f'Receipt "{reference}" has no applied documents; enter it as UnappliedCash.')
    applied_total = sum((line["CustomerReceiptAmount"] for line in lines), ZERO)
    if applied_total > amount:
        raise field_invalid(
            f'Receipt "{reference}": amount applied {applied_total} exceeds the receipt {amount}.'
        )
    return {
        **entry,
        "CustomerNumber": customer.number,
        "CheckReceiptNumber": reference,
        "ReceiptDateAdjustmentDate": date_parse(
            entry.get("ReceiptDateAdjustmentDate") or timezone.now().date().isoformat(), field="Receipt date"
        ).isoformat(),
        "ReceiptTransactionType": transaction_type,
        "BankReceiptAmount": amount,
        "CustomerReceiptAmount": amount,
        "TotalCustomerAmountApplied": applied_total,
        "CustomerUnappliedAmount": amount - applied_total,
        "AppliedReceiptsAdjustments": lines,
    }


def _adjustment_entry(*, company: Company, raw: Any) -> dict[str, Any]:
    entry = payload_check(payload=raw, allowed=_RECEIPT, entity="ReceiptAdjustment")
    customer = customer_require(company=company, number=entry.get("CustomerNumber"))
    lines = []
    for line_number, raw_line in enumerate(_entries(entry, "AppliedReceiptsAdjustments"), start=1):
        line = payload_check(payload=raw_line, allowed=_APPLIED, entity="AppliedReceiptAdjustment")
        document = _document_open(
            company=company, customer_number=customer.number, number=line.get("DocumentNumber")
        )
        distributions = []
        for sequence, raw_distribution in enumerate(_entries(line, "AdjustmentGLDistributions"), start=1):
            distribution = payload_check(
                payload=raw_distribution, allowed=_DISTRIBUTION, entity="GLDistribution"
            )
            account_require(company=company, number=distribution.get("DistributionGLAccount"))
            distributions.append(
                {
                    **distribution,
                    "LineNumber": line_number * 20,
                    "SequenceNumber": sequence,
                    "DistributionAmount": amount_parse(
                        distribution.get("DistributionAmount"), field="Amount"
                    ),
                }
            )
        # A credit to the GL account (negative distribution) debits the customer: the balance grows.
        change = -sum((distribution["DistributionAmount"] for distribution in distributions), ZERO)
        low, high = sorted((ZERO, document.original_amount))
        if not low <= document.balance + change <= high:
            raise field_invalid(
                f'Adjustment of {change} takes document "{document.document_number}" '
                "outside its original amount."
            )
        lines.append(
            {
                **line,
                "LineNumber": line_number * 20,
                "CustomerNumber": customer.number,
                "DocumentNumber": document.document_number,
                "AdjustmentGLDistributions": distributions,
            }
        )
    return {
        **entry,
        "CustomerNumber": customer.number,
        "DocumentNumber": entry.get("DocumentNumber")
        or f"AD{counter_next(company=company, name='ar_adjustment'):010d}",
        "ReceiptDateAdjustmentDate": date_parse(
            entry.get("ReceiptDateAdjustmentDate") or timezone.now().date().isoformat(),
            field="Adjustment date",
        ).isoformat(),
        "AppliedReceiptsAdjustments": lines,
    }


def receipt_batch_create(*, company: Company, payload: Any) -> Record:
    payload_check(payload=payload, allowed=_RECEIPT_BATCH, entity="ReceiptAndAdjustmentBatch")
    record_type = payload.get("BatchRecordType")
    if record_type not in _KIND_BY_RECORD_TYPE:
        raise field_invalid(f'Batch record type "{record_type}" is not valid; use CA or AD.')
    status = batch_status_parse(payload.get("BatchStatus"))
    batch_date = date_parse(payload.get("BatchDate") or timezone.now().date().isoformat(), field="Batch date")
    kind = _KIND_BY_RECORD_TYPE[record_type]
    header: dict[str, Any] = {"BatchRecordType": record_type, "BatchDate": batch_date.isoformat()}
    if record_type == "CA":
        bank = bank_require(company=company, code=payload.get("BankCode"))
        header.update(BankCode=bank.code, DefaultBankCurrency=bank.currency)
        pending = _pending_applied(company=company)
        entries = [
            _receipt_entry(company=company, raw=raw, pending=pending, bank_currency=bank.currency)
            for raw in _entries(payload, "ReceiptsAdjustments")
        ]
    else:
        entries = [
            _adjustment_entry(company=company, raw=raw) for raw in _entries(payload, "ReceiptsAdjustments")
        ]
    number = counter_next(company=company, name=f"ar_{record_type}_batch")
    for entry_number, entry in enumerate(entries, start=1):
        entry.update(BatchType=record_type, BatchNumber=number, EntryNumber=entry_number)
        for line in entry["AppliedReceiptsAdjustments"]:
            line.update(BatchType=record_type, BatchNumber=number, EntryNumber=entry_number)
    record = {
        **header,
        "BatchNumber": number,
        "Description": str(payload.get("Description") or ""),
        "NumberOfEntries": len(entries),
        "BatchTotal": sum((entry.get("CustomerReceiptAmount", ZERO) for entry in entries), ZERO),
        "ReceiptsAdjustments": entries,
    }
    Batch.objects.create(company=company, kind=kind, number=number, status=status, payload=record)
    return {**record, "BatchStatus": status}


def _balance_move(*, company: Company, customer_number: str, number: str, change: Decimal) -> None:
    document = OpenDocument.objects.select_for_update().get(
        company=company, customer_number=customer_number, document_number=number
    )
    low, high = sorted((ZERO, document.original_amount))
    if not low <= document.balance + change <= high:
        raise WebApiError(409, "RecordInvalid", f'Posting would take document "{number}" past its balance.')
    document.balance += change
    document.save(update_fields=["balance"])


def _open_document_add(
    *,
    company: Company,
    batch: Batch,
    entry: dict,
    document_type: str,
    amount: Decimal,
    balance: Decimal | None = None,
) -> None:
    if OpenDocument.objects.filter(
        company=company, customer_number=entry["CustomerNumber"], document_number=entry["DocumentNumber"]
    ).exists():
        raise WebApiError(409, "RecordInvalid", f'Document "{entry["DocumentNumber"]}" already exists.')
    OpenDocument.objects.create(
        company=company,
        customer_number=entry["CustomerNumber"],
        document_number=entry["DocumentNumber"],
        document_type=document_type,
        document_date=entry.get("DocumentDate") or entry["ReceiptDateAdjustmentDate"],
        due_date=entry.get("DueDate"),
        currency=entry.get("CurrencyCode") or "USD",
        original_amount=amount,
        balance=amount if balance is None else balance,
        order_number=entry.get("OrderNumber") or "",
        po_number=entry.get("PONumber") or "",
        description=(entry.get("InvoiceDescription") or entry.get("EntryDescription") or "")[:60],
        batch_number=batch.number,
        entry_number=entry["EntryNumber"],
    )


def _invoice_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["Invoices"]:
        total = entry["DocumentTotalIncludingTax"]
        if entry["DocumentType"] != "CreditNote":
            _open_document_add(
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
            _balance_move(
                company=company,
                customer_number=target.customer_number,
                number=target.document_number,
                change=-applied,
            )
            credit -= applied
        _open_document_add(
            company=company,
            batch=batch,
            entry=entry,
            document_type="CreditNote",
            amount=-total,
            balance=-credit,
        )


def _receipt_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["ReceiptsAdjustments"]:
        for line in entry["AppliedReceiptsAdjustments"]:
            _balance_move(
                company=company,
                customer_number=entry["CustomerNumber"],
                number=line["DocumentNumber"],
                change=-line["CustomerReceiptAmount"],
            )
        unapplied = entry["CustomerUnappliedAmount"]
        if unapplied > 0:
            on_account = {**entry, "DocumentNumber": entry["CheckReceiptNumber"]}
            _open_document_add(
                company=company,
                batch=batch,
                entry=on_account,
                document_type="UnappliedCash",
                amount=-unapplied,
            )
        PostedReceipt.objects.create(
            company=company,
            batch_number=batch.number,
            entry_number=entry["EntryNumber"],
            customer_number=entry["CustomerNumber"],
            check_receipt_number=entry["CheckReceiptNumber"],
            entry_reference=entry.get("EntryReference") or "",
            description=(entry.get("EntryDescription") or "")[:60],
            bank_code=batch.payload["BankCode"],
            receipt_date=entry["ReceiptDateAdjustmentDate"],
            amount=entry["CustomerReceiptAmount"],
            unapplied=unapplied,
        )


def _adjustment_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["ReceiptsAdjustments"]:
        for line in entry["AppliedReceiptsAdjustments"]:
            change = -sum((d["DistributionAmount"] for d in line["AdjustmentGLDistributions"]), ZERO)
            _balance_move(
                company=company,
                customer_number=entry["CustomerNumber"],
                number=line["DocumentNumber"],
                change=change,
            )


_POSTERS = {
    Batch.Kind.AR_INVOICE: _invoice_batch_post,
    Batch.Kind.AR_RECEIPT: _receipt_batch_post,
    Batch.Kind.AR_ADJUSTMENT: _adjustment_batch_post,
}


def batches_post(*, company: Company, kind: str, payload: dict[str, Any]) -> Record:
    """Post the ReadyToPost batches of one kind: all of them (`PostAllBatches: "Postallbatches"`) or those
    from `PostBatchFrom` to `PostBatchTo`. Open batches in the range are left alone, as Sage does."""
    batches = Batch.objects.select_for_update().filter(company=company, kind=kind, status="ReadyToPost")
    if payload.get("PostAllBatches") != "Postallbatches":
        low = int(amount_parse(payload.get("PostBatchFrom"), field="PostBatchFrom"))
        high = int(amount_parse(payload.get("PostBatchTo"), field="PostBatchTo", default=Decimal(low)))
        batches = batches.filter(number__gte=low, number__lte=high)
    for batch in batches.order_by("number"):
        _POSTERS[kind](company=company, batch=batch)
        batch.status = "Posted"
        batch.payload = {
            **batch.payload,
            "PostingSequenceNumber": counter_next(company=company, name=f"post_{kind}"),
        }
        batch.save(update_fields=["status", "payload"])
    return payload
