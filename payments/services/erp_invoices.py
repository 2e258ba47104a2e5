"""The ERP is the source of truth for invoices: our `Invoice` rows are copies, brought in step from it.

Invoices are read from each ERP incrementally (`ErpConnector.invoices_changed`) from a per-connection cursor
with an overlap window, like the PayTrace sync: each run re-reads from `position - overlap`, the cursor
advances only after a run succeeds, and the idempotent upsert makes a re-read harmless. The same upsert
refreshes one invoice before a payment is applied to it and during reconciliation.

A local balance is the ERP's open balance less what we have applied and not yet posted (an allocation
whose receipt is still in the outbox): the ERP cannot know of it yet, and forgetting it would apply the
same money twice. Likewise it adds back what we have reversed (a void, a chargeback that reopens) whose
reversal has not reached the ERP yet: the ERP still shows it paid until then."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from customers.models import CustomerLink
from integrations.cursors import SyncSummary, sync_cursor_claim, sync_cursor_release
from integrations.models import Connection, ErpPosting
from integrations.sage.base import ErpInvoice
from integrations.sage.connector import ErpConnector
from integrations.sage.registry import connector_for
from payments.models import ZERO, Allocation, Invoice, Order
from portal.lifecycle import status_transition, transition_allowed
from portal.money import currency_minor_units, money_quantize

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)


def invoice_status_for(*, balance: Decimal, amount: Decimal) -> str:
    if balance <= ZERO:
        return Invoice.Status.PAID
    return Invoice.Status.OPEN if balance >= amount else Invoice.Status.PARTIALLY_PAID


def allocations_live(*, invoice: Invoice):
    return Allocation.objects.filter(invoice=invoice, reversed_at__isnull=True)


def _receipt_posted():
    return ErpPosting.objects.filter(
        document_type=ErpPosting.DocumentType.RECEIPT,
        status=ErpPosting.Status.POSTED,
        transaction_id=OuterRef("payment_id"),
        connection_id=OuterRef("invoice__connection_id"),
    )


def allocations_in_flight_total(*, invoice: Invoice) -> Decimal:
    """Applied here, not yet in the ERP: allocations whose receipt has not been posted."""
    live = allocations_live(invoice=invoice).exclude(Exists(_receipt_posted()))
    return live.aggregate(total=Sum("amount"))["total"] or ZERO


def allocations_posted_total(*, invoice: Invoice) -> Decimal:
    live = allocations_live(invoice=invoice).filter(Exists(_receipt_posted()))
    return live.aggregate(total=Sum("amount"))["total"] or ZERO


def _reversal_on_its_way(allocation: Allocation) -> bool:
    """The reversal that gives this allocation back in the ERP (a void's `-V`, a chargeback's `-C<n>`, an
    undo's `-U<pk>`) is planned, its receipt is in the ERP, and the reversal is not posted yet."""
    receipt = allocation.payment.transaction_id
    postings = ErpPosting.objects.filter(connection_id=allocation.invoice.connection_id)
    if not postings.filter(
        document_type=ErpPosting.DocumentType.RECEIPT, reference=receipt, status=ErpPosting.Status.POSTED
    ).exists():
        return False
    return (
        postings.filter(document_type=ErpPosting.DocumentType.REVERSAL)
        .filter(
            Q(reference__in=(f"{receipt}-V", f"{receipt}-U{allocation.pk}"))
            | Q(reference__regex=rf"^{receipt}-C[0-9]+$")
        )
        .exclude(status__in=(ErpPosting.Status.POSTED, ErpPosting.Status.CANCELLED))
        .exists()
    )


def allocations_reversal_pending_total(*, invoice: Invoice) -> Decimal:
    """Reversed here, still applied in the ERP: their reversal is on its way."""
    reversed_here = Allocation.objects.filter(invoice=invoice, reversed_at__isnull=False).select_related(
        "payment", "invoice"
    )
    return sum((a.amount for a in reversed_here if _reversal_on_its_way(a)), ZERO)


def erp_open_quantize(*, balance: Decimal, currency: str) -> Decimal:
    """An ERP's open balance in the currency's minor unit, rounded down: Sage 300 keeps three decimals, and
    rounding 10.005 up to 10.01 would apply more than the ERP has open (a refused receipt)."""
    return Decimal(balance).quantize(Decimal(1).scaleb(-currency_minor_units(currency)), rounding=ROUND_DOWN)


def invoice_balance_expected(*, invoice: Invoice | None, erp_balance: Decimal, amount: Decimal) -> Decimal:
    """What our copy's balance should be, given the ERP's: less what is on its way there, plus what is
    reversed here and not yet there."""
    if invoice is None:
        return min(amount, max(ZERO, erp_balance))
    balance = (
        erp_open_quantize(balance=erp_balance, currency=invoice.currency)
        - allocations_in_flight_total(invoice=invoice)
        + allocations_reversal_pending_total(invoice=invoice)
    )
    return min(amount, max(ZERO, balance))


def invoice_order_find(*, connection: Connection, reference: str) -> Order | None:
    """The storefront order an ERP invoice came from. The ERP's order entry invoices its own sales order,
    so the invoice carries the number the ERP gave that order (Sage 300's AR document `OrderNumber` is the
    OE order's number), which we keep as `erp_order_number`; an invoice keyed with the storefront's order
    id names it too."""
    if not reference:
        return None
    return (
        Order.objects.filter(order_id=reference).first()
        or Order.objects.filter(erp_connection=connection, erp_order_number=reference).order_by("pk").first()
    )


@dataclass(frozen=True)
class InvoiceUpsert:
    invoice: Invoice
    changed: bool


def erp_invoice_upsert(*, connection: Connection, erp_invoice: ErpInvoice) -> InvoiceUpsert:
    """Create or refresh our copy of one ERP invoice: amount, open balance (less what is in flight),
    currency, dates, customer (through its CustomerLink), the storefront order it came from, and its
    status. A copy already void here stays void."""
    link = (
        CustomerLink.objects.filter(connection=connection, external_id=erp_invoice.customer_number)
        .select_related("customer")
        .first()
    )
    reference = erp_invoice.reference
    order = invoice_order_find(connection=connection, reference=reference)
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update()
            .filter(connection=connection, invoice_number=erp_invoice.number)
            .first()
        )
        currency = erp_invoice.currency or (invoice.currency if invoice else "USD")
        amount = money_quantize(max(erp_invoice.amount, ZERO), currency)
        balance = invoice_balance_expected(
            invoice=invoice,
            erp_balance=erp_open_quantize(balance=erp_invoice.balance, currency=currency),
            amount=amount,
        )
        fields = {
            "customer": link.customer if link else (invoice.customer if invoice else None),
            "order": order or (invoice.order if invoice else None),
            "reference": reference[:60],
            "currency": currency,
            "amount": amount,
            "balance": balance,
            "issued_on": erp_invoice.issued_on,
            "due_on": erp_invoice.due_on,
        }
        status = invoice_status_for(balance=balance, amount=amount)
        now = timezone.now()
        raw = erp_invoice.raw
        if invoice is None:
            invoice = Invoice.objects.create(
                connection=connection,
                invoice_number=erp_invoice.number,
                status=status,
                synced_at=now,
                raw=raw,
                **fields,
            )
            return InvoiceUpsert(invoice, changed=True)
        if invoice.status == Invoice.Status.VOID:
            return InvoiceUpsert(invoice, changed=False)
        changed = any(getattr(invoice, name) != value for name, value in fields.items())
        changed = changed or invoice.status != status
        Invoice.objects.filter(pk=invoice.pk).update(synced_at=now, raw=raw, updated_at=now, **fields)
        invoice.refresh_from_db()
        status_transition(instance=invoice, to_status=status)
        return InvoiceUpsert(invoice, changed=changed)


def invoice_cancel_if_unapplied(*, invoice: Invoice) -> bool:
    """The ERP no longer holds the invoice (cancelled or deleted there). With nothing applied to it here
    the copy is voided; with allocations it is left for finance (the caller raises the review item)."""
    if allocations_live(invoice=invoice).exists():
        return False
    if not transition_allowed(model=Invoice, from_status=invoice.status, to_status=Invoice.Status.VOID):
        return False
    status_transition(instance=invoice, to_status=Invoice.Status.VOID, synced_at=timezone.now())
    return True


def erp_invoices_sync(
    *,
    connection: Connection,
    connector: ErpConnector | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    on_invoice: Callable[..., object] | None = None,
) -> SyncSummary:
    """Read the invoices created or changed in the ERP since the cursor (less its overlap) and upsert
    them; `on_invoice(invoice=...)` follows each upsert (what waited for the invoice). Skipped when another
    run holds the cursor."""
    now = now or timezone.now()
    cursor = sync_cursor_claim(connection=connection, resource="invoices", now=now)
    if cursor is None:
        return SyncSummary(connection=connection.name, skipped=True)
    since = cursor.position - timedelta(seconds=cursor.overlap_seconds) if cursor.position else None
    changed = 0
    read: list[ErpInvoice] = []
    try:
        connector = connector or connector_for(connection)
        read = list(connector.invoices_changed(since=since))
        for index, erp_invoice in enumerate(read, start=1):
            upserted = erp_invoice_upsert(connection=connection, erp_invoice=erp_invoice)
            changed += upserted.changed
            if on_invoice is not None:
                on_invoice(invoice=upserted.invoice)
            if progress:
                progress(index, len(read))
    except Exception as exc:
        sync_cursor_release(cursor=cursor, position=None, seen=0, error=f"{type(exc).__name__}: {exc}")
        raise
    sync_cursor_release(cursor=cursor, position=now, seen=len(read), error="")
    return SyncSummary(connection=connection.name, records=len(read), changed=changed, window_start=since)
