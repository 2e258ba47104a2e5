"""ARReceiptAndAdjustmentBatches (AR0041, metadata type ReceiptAndAdjustmentBatch): CA receipts applied
to documents (the remainder stays on account as unapplied cash), CA prepayments (a credit on account,
as Sage's `_Prepayment` sample enters one) and AD adjustments moving a document's balance against a GL
account (Sage's `_Adjustment` sample).

A receipt can never take a document below zero, counting what unposted batches already apply to it.
"""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from simulators.sage300.errors import field_invalid
from simulators.sage300.models import Batch, Company, PostedReceipt
from simulators.sage300.selectors import Record, batch_record
from simulators.sage300.services.common import (
    account_require,
    amount_parse,
    bank_require,
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

# ReceiptTransactionType values: Sage's sample shows Prepayment; Receipt and UnappliedCash follow the
# receipt types of Sage 300's Receipt Entry [U]. The document each one leaves on account is numbered
# with the default prefixes of AR Options' document numbering [U].
_DOCUMENT_PREFIX = {"Receipt": "PY", "UnappliedCash": "UC", "Prepayment": "PP"}
_KIND_BY_RECORD_TYPE = {"CA": Batch.Kind.AR_RECEIPT, "AD": Batch.Kind.AR_ADJUSTMENT}


def _pending_applied(*, company: Company) -> dict[tuple[str, str], Decimal]:
    pending: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for batch in unposted_payloads(company=company, kind=Batch.Kind.AR_RECEIPT):
        for entry in batch["ReceiptsAdjustments"]:
            if entry["ReceiptTransactionType"] == "Prepayment":
                continue
            for line in entry["AppliedReceiptsAdjustments"]:
                pending[(entry["CustomerNumber"], line["DocumentNumber"])] += line["CustomerReceiptAmount"]
    return pending


def _applied_line(
    *, company: Company, customer_number: str, line: dict[str, Any], index: int, pending: dict, reference: str
) -> dict[str, Any]:
    applied = amount_parse(line.get("CustomerReceiptAmount"), field="Applied amount")
    document = document_require(
        company=company, customer_number=customer_number, number=line.get("DocumentNumber")
    )
    key = (customer_number, document.document_number)
    available = document.balance - pending[key]
    if applied <= 0 or applied > available:
        raise field_invalid(
            f'Receipt "{reference}": applied amount {applied} exceeds the balance {available} '
            f'of document "{document.document_number}".'
        )
    pending[key] += applied
    return {
        **line,
        "LineNumber": index * 20,
        "CustomerNumber": customer_number,
        "DocumentNumber": document.document_number,
        "PaymentNumber": line.get("PaymentNumber") or 1,
        "CustomerReceiptAmount": applied,
        "DocumentAmountDue": document.balance,
    }


def _prepayment_line(*, customer_number: str, line: dict[str, Any], index: int) -> dict[str, Any]:
    """A prepayment is applied to a document that need not be posted yet (Sage's sample names none)."""
    applied = amount_parse(line.get("CustomerReceiptAmount"), field="Applied amount")
    if applied <= 0:
        raise field_invalid("A prepayment's applied amount must be greater than zero.")
    return {
        **line,
        "LineNumber": index * 20,
        "CustomerNumber": customer_number,
        "CustomerReceiptAmount": applied,
    }


def _receipt_entry(
    *, company: Company, entry: dict[str, Any], pending: dict, bank_currency: str
) -> dict[str, Any]:
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
    if transaction_type not in _DOCUMENT_PREFIX:
        raise field_invalid(f'Receipt transaction type "{transaction_type}" is not valid.')
    lines = [
        _prepayment_line(customer_number=customer.number, line=line, index=index)
        if transaction_type == "Prepayment"
        else _applied_line(
            company=company,
            customer_number=customer.number,
            line=line,
            index=index,
            pending=pending,
            reference=reference,
        )
        for index, line in enumerate(entry.get("AppliedReceiptsAdjustments") or [], start=1)
    ]
    if transaction_type == "Receipt" and not lines:
        # The community-reported gotcha: a plain Receipt needs an application; cash on account is
        # entered as UnappliedCash (or Prepayment).
        raise field_invalid(f'Receipt "{reference}" has no applied documents; enter it as UnappliedCash.')
    applied_total = sum((line["CustomerReceiptAmount"] for line in lines), ZERO)
    if applied_total > amount:
        raise field_invalid(
            f'Receipt "{reference}": amount applied {applied_total} exceeds the receipt {amount}.'
        )
    number = entry.get("DocumentNumber") or _document_number(company=company, receipt_type=transaction_type)
    receipt_date = entry.get("ReceiptDateAdjustmentDate") or today().isoformat()
    return {
        **entry,
        "CustomerNumber": customer.number,
        "CheckReceiptNumber": reference,
        "DocumentNumber": number,
        "ReceiptDateAdjustmentDate": date_parse(
            receipt_date, company=company, field="Receipt date"
        ).isoformat(),
        "ReceiptTransactionType": transaction_type,
        "BankReceiptAmount": amount,
        "CustomerReceiptAmount": amount,
        "TotalCustomerAmountApplied": applied_total,
        "CustomerUnappliedAmount": amount - applied_total,
        "AppliedReceiptsAdjustments": lines,
    }


def _document_number(*, company: Company, receipt_type: str) -> str:
    return f"{_DOCUMENT_PREFIX[receipt_type]}{counter_next(company=company, name='ar_receipt_document'):010d}"


def _distribution(*, company: Company, distribution: dict[str, Any], index: int, sequence: int) -> dict:
    code, account = distribution.get("DistributionCode"), distribution.get("DistributionGLAccount")
    if not code and not account:
        raise field_invalid("An adjustment distribution needs a distribution code or a GL account.")
    if code and not lookup_get(
        company=company, module="AR", resource="ARDistributionCodes", values={"DistributionCodeKey": code}
    ):
        raise field_invalid(f'Distribution code "{code}" does not exist.')
    if account:
        account_require(company=company, number=account)
    return {
        **distribution,
        "LineNumber": index * 20,
        "SequenceNumber": sequence,
        "DistributionAmount": amount_parse(distribution.get("DistributionAmount"), field="Amount"),
    }


def _adjustment_entry(*, company: Company, entry: dict[str, Any]) -> dict[str, Any]:
    customer = customer_require(company=company, number=entry.get("CustomerNumber"))
    lines = []
    for index, line in enumerate(entries_require(entry, "AppliedReceiptsAdjustments"), start=1):
        document = document_require(
            company=company, customer_number=customer.number, number=line.get("DocumentNumber")
        )
        distributions = [
            _distribution(company=company, distribution=distribution, index=index, sequence=sequence)
            for sequence, distribution in enumerate(
                entries_require(line, "AdjustmentGLDistributions"), start=1
            )
        ]
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
                "LineNumber": index * 20,
                "CustomerNumber": customer.number,
                "DocumentNumber": document.document_number,
                "AdjustmentGLDistributions": distributions,
            }
        )
    adjustment_date = entry.get("ReceiptDateAdjustmentDate") or today().isoformat()
    return {
        **entry,
        "CustomerNumber": customer.number,
        "DocumentNumber": entry.get("DocumentNumber")
        or f"AD{counter_next(company=company, name='ar_adjustment'):010d}",
        "ReceiptDateAdjustmentDate": date_parse(
            adjustment_date, company=company, field="Adjustment date"
        ).isoformat(),
        "AppliedReceiptsAdjustments": lines,
    }


def receipt_batch_create(*, company: Company, payload: dict[str, Any]) -> Record:
    """`BatchRecordType` CA or AD is required on POST (the Endpoint Reference's special protocol)."""
    record_type = payload.get("BatchRecordType")
    if record_type not in _KIND_BY_RECORD_TYPE:
        raise field_invalid(f'Batch record type "{record_type}" is not valid; use CA or AD.')
    status = batch_status_parse(payload.get("BatchStatus"))
    batch_date = date_parse(
        payload.get("BatchDate") or today().isoformat(), company=company, field="Batch date"
    )
    header: dict[str, Any] = {"BatchRecordType": record_type, "BatchDate": batch_date.isoformat()}
    if record_type == "CA":
        bank = bank_require(company=company, code=payload.get("BankCode"))
        header.update(BankCode=bank.code, DefaultBankCurrency=bank.currency)
        pending = _pending_applied(company=company)
        entries = [
            _receipt_entry(company=company, entry=entry, pending=pending, bank_currency=bank.currency)
            for entry in entries_require(payload, "ReceiptsAdjustments")
        ]
    else:
        entries = [
            _adjustment_entry(company=company, entry=entry)
            for entry in entries_require(payload, "ReceiptsAdjustments")
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
    batch = Batch.objects.create(
        company=company, kind=_KIND_BY_RECORD_TYPE[record_type], number=number, status=status, payload=record
    )
    return batch_record(batch)


def receipt_batch_post(*, company: Company, batch: Batch) -> None:
    for entry in batch.payload["ReceiptsAdjustments"]:
        prepayment = entry["ReceiptTransactionType"] == "Prepayment"
        for line in [] if prepayment else entry["AppliedReceiptsAdjustments"]:
            balance_move(
                company=company,
                customer_number=entry["CustomerNumber"],
                number=line["DocumentNumber"],
                change=-line["CustomerReceiptAmount"],
            )
        on_account = entry["CustomerReceiptAmount"] if prepayment else entry["CustomerUnappliedAmount"]
        if on_account > 0:
            open_document_add(
                company=company,
                batch=batch,
                entry=entry,
                document_type="Prepayment" if prepayment else "UnappliedCash",
                amount=-on_account,
            )
        PostedReceipt.objects.create(
            company=company,
            batch_number=batch.number,
            entry_number=entry["EntryNumber"],
            customer_number=entry["CustomerNumber"],
            check_receipt_number=entry["CheckReceiptNumber"],
            document_number=entry["DocumentNumber"],
            document_type=entry["ReceiptTransactionType"],
            bank_code=batch.payload["BankCode"],
            payment_code=entry.get("PaymentCode") or "",
            currency=batch.payload["DefaultBankCurrency"],
            receipt_date=entry["ReceiptDateAdjustmentDate"],
            amount=entry["CustomerReceiptAmount"],
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
