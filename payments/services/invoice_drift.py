"""Drift between our invoice copies and the ERP, found, mended where safe, and put to finance otherwise.

Every open local invoice, and every invoice with a live allocation, is read from the ERP by number:
- the ERP shows a different balance or status, and all our posted allocations are in it: the copy is
  refreshed (mended) — paid elsewhere, credited, amount changed;
- the ERP no longer holds it and nothing is applied to it here: it was cancelled there, the copy is voided;
- the ERP shows less paid than our posted allocations (an allocation the ERP does not show), or no longer
  holds an invoice we applied money to: a review item (`invoice_drift`), never mended silently.
A review item that no longer applies on a later run is resolved, so an empty drift list means the two sides
agree."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from integrations.models import Connection
from integrations.sage.base import ErpInvoice
from integrations.sage.connector import ErpConnector
from integrations.sage.registry import connector_for
from payments.models import Invoice, ReconciliationException
from payments.services.erp_invoices import (
    OPEN_STATUSES,
    allocations_posted_total,
    erp_invoice_upsert,
    invoice_balance_expected,
    invoice_cancel_if_unapplied,
)
from portal.lifecycle import status_transition

Progress = Callable[[int, int], None]
DRIFT = ReconciliationException.Kind.INVOICE_DRIFT


@dataclass(frozen=True)
class InvoiceDriftSummary:
    connection: str
    checked: int = 0
    mended: int = 0
    flagged: int = 0


def invoices_to_reconcile(*, connection: Connection):
    return (
        Invoice.objects.filter(connection=connection)
        .filter(
            Q(status__in=OPEN_STATUSES) | Q(allocations__reversed_at__isnull=True, allocations__isnull=False)
        )
        .distinct()
        .order_by("pk")
    )


def _drift_key(invoice: Invoice) -> str:
    return f"invoice-drift-{invoice.pk}"


def _drift_raise(*, invoice: Invoice, reason: str, erp_balance: Decimal | None = None) -> None:
    ReconciliationException.objects.update_or_create(
        dedup_key=_drift_key(invoice),
        defaults={
            "kind": DRIFT,
            "status": ReconciliationException.Status.OPEN,
            "currency": invoice.currency,
            "expected_amount": invoice.balance,
            "reported_amount": erp_balance,
            "difference": (erp_balance - invoice.balance) if erp_balance is not None else invoice.balance,
            "reason": reason,
        },
    )


def _drift_clear(*, invoice: Invoice) -> None:
    found = ReconciliationException.objects.filter(
        dedup_key=_drift_key(invoice), status=ReconciliationException.Status.OPEN
    ).first()
    if found is not None:
        status_transition(instance=found, to_status=ReconciliationException.Status.RESOLVED)


def _invoice_reconcile(*, invoice: Invoice, erp_invoice: ErpInvoice | None) -> str:
    """'ok', 'mended' or 'flagged'."""
    if erp_invoice is None:
        if invoice_cancel_if_unapplied(invoice=invoice):
            _drift_clear(invoice=invoice)
            return "mended"
        if invoice.status == Invoice.Status.VOID:
            return "ok"
        _drift_raise(
            invoice=invoice,
            reason=f"{invoice.invoice_number} is no longer in the ERP (cancelled there?) but payments are"
            " applied to it here: reverse or move those allocations.",
        )
        return "flagged"
    posted = allocations_posted_total(invoice=invoice)
    erp_paid = erp_invoice.amount - erp_invoice.balance
    if erp_paid < posted:
        _drift_raise(
            invoice=invoice,
            erp_balance=erp_invoice.balance,
            reason=f"{invoice.invoice_number}: the ERP shows {erp_paid} {invoice.currency} paid, but our"
            f" posted allocations total {posted}: an allocation the ERP does not show (a receipt reversed or"
            " unapplied there?).",
        )
        return "flagged"
    _drift_clear(invoice=invoice)
    expected = invoice_balance_expected(
        invoice=invoice, erp_balance=erp_invoice.balance, amount=erp_invoice.amount
    )
    if invoice.balance == expected and invoice.amount == erp_invoice.amount:
        return "ok"
    erp_invoice_upsert(connection=invoice.connection, erp_invoice=erp_invoice)
    return "mended"


def invoices_reconcile(
    *, connection: Connection, connector: ErpConnector | None = None, progress: Progress | None = None
) -> InvoiceDriftSummary:
    connector = connector or connector_for(connection)
    invoices = list(invoices_to_reconcile(connection=connection))
    counts = {"ok": 0, "mended": 0, "flagged": 0}
    for index, invoice in enumerate(invoices, start=1):
        outcome = _invoice_reconcile(
            invoice=invoice, erp_invoice=connector.invoice_get(number=invoice.invoice_number)
        )
        counts[outcome] += 1
        if progress:
            progress(index, len(invoices))
    return InvoiceDriftSummary(
        connection=connection.name, checked=len(invoices), mended=counts["mended"], flagged=counts["flagged"]
    )
