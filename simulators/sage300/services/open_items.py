"""The open-item ledger (AROBL) as AR transactions see it: documents that must exist, balances that
move only within zero and the original amount, and what unposted batches already hold."""

from decimal import Decimal
from typing import Any

from django.utils import timezone

from simulators.sage300.errors import WebApiError, field_invalid
from simulators.sage300.models import Batch, Company, OpenDocument

ZERO = Decimal("0")


def entries_require(payload: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = payload.get(name) or []
    if not isinstance(entries, list) or not entries:
        raise field_invalid(f"The batch has no entries ({name} is empty).")
    return entries


def document_require(*, company: Company, customer_number: str, number: Any) -> OpenDocument:
    document = OpenDocument.objects.filter(
        company=company, customer_number=customer_number, document_number=str(number or "")
    ).first()
    if document is None:
        raise field_invalid(f'Document "{number}" does not exist for customer "{customer_number}".')
    return document


def unposted_payloads(*, company: Company, kind: str) -> list[dict[str, Any]]:
    return list(
        Batch.objects.filter(company=company, kind=kind)
        .exclude(status="Posted")
        .values_list("payload", flat=True)
    )


def balance_move(*, company: Company, customer_number: str, number: str, change: Decimal) -> None:
    document = OpenDocument.objects.select_for_update().get(
        company=company, customer_number=customer_number, document_number=number
    )
    low, high = sorted((ZERO, document.original_amount))
    if not low <= document.balance + change <= high:
        raise WebApiError(409, "RecordInvalid", f'Posting would take document "{number}" past its balance.')
    document.balance += change
    document.last_activity_date = timezone.localdate()
    document.save(update_fields=["balance", "last_activity_date"])


def open_document_add(
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
        check_receipt_number=entry.get("CheckReceiptNumber") or "",
        description=(entry.get("InvoiceDescription") or entry.get("EntryDescription") or "")[:60],
        batch_number=batch.number,
        entry_number=entry["EntryNumber"],
        last_activity_date=timezone.localdate(),
    )
