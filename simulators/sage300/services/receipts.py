"""ARReceiptAndAdjustmentBatches (AR0041): CA receipts applied to documents (the remainder stays on
account as unapplied cash) and AD adjustments moving a document's balance against a GL account.

A receipt can never take a document below zero, counting what unposted batches already apply to it.
"""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company, PostedReceipt
from simulators.sage300.selectors import Record
from simulators.sage300.services.common import (
    account_require,
    amount_parse,
    bank_require,
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
_RECEIPT_TYPES = ("Receipt", "UnappliedCash", "Prepayment")
_KIND_BY_RECORD_TYPE = {"CA": Batch.Kind.AR_RECEIPT, "AD": Batch.Kind.AR_ADJUSTMENT}


def _pending_applied(*, company: Company) -> dict[tuple[str, str], Decimal]:
    pending: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for batch in unposted_payloads(company=company, kind=Batch.Kind.AR_RECEIPT):
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
        document = document_require(
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
    for line_number, raw_line in enumerate(entries_require(entry, "AppliedReceiptsAdjustments"), start=1):
        line = payload_check(payload=raw_line, allowed=_APPLIED, entity="AppliedReceiptAdjustment")
        document = document_require(
            company=company, customer_number=customer.number, number=line.get("DocumentNumber")
        )
        distributions = []
        for sequence, raw_distribution in enumerate(
            entries_require(line, "AdjustmentGLDistributions"), start=1
        ):
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
            for raw in entries_require(payload, "ReceiptsAdjustments")
        ]
    else:
        entries = [
            _adjustment_entry(company=company, raw=raw)
            for raw in entries_require(payload, "ReceiptsAdjustments")
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


def receipt_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["ReceiptsAdjustments"]:
        for line in entry["AppliedReceiptsAdjustments"]:
            balance_move(
                company=company,
                customer_number=entry["CustomerNumber"],
                number=line["DocumentNumber"],
                change=-line["CustomerReceiptAmount"],
            )
        unapplied = entry["CustomerUnappliedAmount"]
        if unapplied > 0:
            on_account = {**entry, "DocumentNumber": entry["CheckReceiptNumber"]}
            open_document_add(
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


def adjustment_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["ReceiptsAdjustments"]:
        for line in entry["AppliedReceiptsAdjustments"]:
            change = -sum((d["DistributionAmount"] for d in line["AdjustmentGLDistributions"]), ZERO)
            balance_move(
                company=company,
                customer_number=entry["CustomerNumber"],
                number=line["DocumentNumber"],
                change=change,
            )
