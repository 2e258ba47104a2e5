"""Applying payments to invoices: by reference first, then the customer's oldest open invoice first.

Each application is an Allocation row. The running totals live on the payment (`amount_applied`) and
the invoice (`balance`), and their check constraints make an over-application fail in the database even
if two workers race. Rows are locked payment first, then invoices in pk order, so two applications never
deadlock. Never across customers: a reference that names another customer's invoice is not used."""

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.models import Connection
from payments.models import ZERO, Allocation, Invoice, ReconciliationException, Transaction
from portal.lifecycle import status_transition
from portal.money import money_quantize

OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)


def _invoice_status_for(invoice: Invoice) -> str:
    if invoice.balance <= ZERO:
        return Invoice.Status.PAID
    return Invoice.Status.OPEN if invoice.balance >= invoice.amount else Invoice.Status.PARTIALLY_PAID


def _payment_applied_change(*, payment_pk: int, delta: Decimal) -> None:
    """Sums are made here in Decimal on the locked row, not as SQL arithmetic: SQLite would do it in
    floating point and store 39.98999… for 89.99 − 50."""
    with transaction.atomic():
        payment = (
            Transaction.objects.select_for_update().only("amount_applied", "currency").get(pk=payment_pk)
        )
        Transaction.objects.filter(pk=payment_pk).update(
            amount_applied=money_quantize(payment.amount_applied + delta, payment.currency)
        )


def invoice_balance_change(*, invoice: Invoice, delta: Decimal) -> Invoice:
    """Add `delta` (negative to pay) to the invoice's open balance and move its status to match."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().only("balance", "currency").get(pk=invoice.pk)
        balance = money_quantize(locked.balance + delta, locked.currency)
        Invoice.objects.filter(pk=invoice.pk).update(balance=balance, updated_at=timezone.now())
    invoice.refresh_from_db(fields=["balance", "status"])
    target = _invoice_status_for(invoice)
    if target != invoice.status:
        status_transition(instance=invoice, to_status=target)
    return invoice


def payment_unapplied_amount(*, payment: Transaction) -> Decimal:
    return payment.amount - payment.amount_applied


def _candidate_invoices(*, payment: Transaction, erp_connection: Connection) -> list[tuple[Invoice, str]]:
    open_invoices = Invoice.objects.select_for_update().filter(
        connection=erp_connection, status__in=OPEN_STATUSES
    )
    same_customer = Q(customer_id=payment.customer_id) if payment.customer_id else Q()
    by_reference: list[Invoice] = []
    references = {
        value for value in (payment.invoice_reference, getattr(payment.order, "order_id", "")) if value
    }
    if references:
        by_reference = list(
            open_invoices.filter(same_customer)
            .filter(
                # `order_id=None` would match every invoice without an order: only a real order counts.
                Q(invoice_number__in=references)
                | Q(reference__in=references)
                | (Q(order_id=payment.order_id) if payment.order_id else Q(pk__in=[]))
            )
            .order_by("pk")
        )
    oldest_first: list[Invoice] = []
    if payment.customer_id:
        oldest_first = list(
            open_invoices.filter(customer_id=payment.customer_id)
            .exclude(pk__in=[invoice.pk for invoice in by_reference])
            .order_by(F("due_on").asc(nulls_last=True), "issued_on", "pk")
        )
    return [(invoice, Allocation.Rule.REFERENCE) for invoice in by_reference] + [
        (invoice, Allocation.Rule.OLDEST_OPEN) for invoice in oldest_first
    ]


def payment_apply(
    *, payment: Transaction, erp_connection: Connection, actor: AbstractBaseUser | None = None
) -> list[Allocation]:
    """Apply what is left of `payment` to open invoices; the remainder stays on account."""
    with transaction.atomic():
        payment = (
            Transaction.objects.select_for_update(of=("self",)).select_related("order").get(pk=payment.pk)
        )
        remaining = payment_unapplied_amount(payment=payment)
        allocations = []
        for invoice, rule in _candidate_invoices(payment=payment, erp_connection=erp_connection):
            if remaining <= ZERO:
                break
            if invoice.currency != payment.currency:
                continue
            amount = min(remaining, invoice.balance)
            allocations.append(
                Allocation.objects.create(
                    payment=payment,
                    invoice=invoice,
                    amount=amount,
                    currency=payment.currency,
                    rule=rule,
                    actor=actor if actor is not None and actor.is_authenticated else None,
                )
            )
            invoice_balance_change(invoice=invoice, delta=-amount)
            remaining -= amount
        if allocations:
            applied = sum((allocation.amount for allocation in allocations), ZERO)
            _payment_applied_change(payment_pk=payment.pk, delta=applied)
        elif payment.amount_applied == ZERO and remaining > ZERO:
            _unapplied_review(payment=payment)
    return allocations


def _unapplied_review(*, payment: Transaction) -> None:
    """No invoice took any of it: the whole payment stays on account, and finance is asked to look."""
    reference = payment.invoice_reference or getattr(payment.order, "order_id", "") or "none"
    ReconciliationException.objects.get_or_create(
        dedup_key=f"unapplied-{payment.pk}",
        defaults={
            "kind": ReconciliationException.Kind.UNAPPLIED_PAYMENT,
            "transaction": payment,
            "currency": payment.currency,
            "expected_amount": payment.amount,
            "difference": payment.amount,
            "reason": f"{payment.transaction_id} ({payment.amount} {payment.currency}, reference {reference})"
            " matched no open invoice of its customer: it is on account.",
        },
    )


def allocation_reverse(*, allocation: Allocation, actor: AbstractBaseUser | None = None) -> Allocation:
    """Undo one application locally: the invoice reopens by the amount, the payment gets it back."""
    with transaction.atomic():
        allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if allocation.reversed_at is not None:
            return allocation
        _payment_applied_change(payment_pk=allocation.payment_id, delta=-allocation.amount)
        invoice_balance_change(invoice=allocation.invoice, delta=allocation.amount)
        allocation.reversed_at = timezone.now()
        allocation.reversed_by = actor if actor is not None and actor.is_authenticated else None
        allocation.save(update_fields=["reversed_at", "reversed_by"])
    return allocation


def allocation_undo(*, allocation: Allocation, actor: AbstractBaseUser | None, reason: str) -> Allocation:
    """Undo an application here and in the ERP: once the receipt is posted, the ERP gets a reversal of
    this application (`<receipt ref>-U<allocation pk>`); before that, the receipt is simply built without
    it."""
    from integrations.audit import audit_record
    from integrations.models import ErpPosting

    with transaction.atomic():
        allocation = allocation_reverse(allocation=allocation, actor=actor)
        receipt = ErpPosting.objects.filter(
            connection=allocation.invoice.connection,
            document_type=ErpPosting.DocumentType.RECEIPT,
            transaction=allocation.payment,
            status=ErpPosting.Status.POSTED,
        ).first()
        if receipt is not None:
            ErpPosting.objects.get_or_create(
                connection=receipt.connection,
                document_type=ErpPosting.DocumentType.REVERSAL,
                reference=f"{receipt.reference}-U{allocation.pk}",
                defaults={"transaction": allocation.payment, "customer_id": allocation.payment.customer_id},
            )
        audit_record(
            action="allocation.undo",
            subject=allocation,
            actor=actor,
            reason=reason,
            data={"amount": str(allocation.amount), "invoice": allocation.invoice.invoice_number},
        )
    return allocation
