"""Applying payments to invoices: by reference first, then the customer's oldest open invoice first.

The ERP is the source of truth: before applying, the invoices the payment may go to are read from the ERP
(`payment_invoices_refresh`): the one its reference names, found there by number even when it was created
in the ERP after our last sync, and the customer's open invoices. An invoice the ERP shows paid or no longer
holds takes nothing; one the payment names that the ERP shows paid sends the money on account, with a
review item naming the invoice. When the ERP cannot be read, the local copies are used: the ERP still
refuses a receipt that over-applies, and `reconcile_invoices` finds what drifted.

Each application is an Allocation row. The running totals live on the payment (`amount_applied`) and
the invoice (`balance`), and their check constraints make an over-application fail in the database even
if two workers race. Rows are locked payment first, then invoices in pk order, so two applications never
deadlock. Never across customers: a reference that names another customer's invoice is not used."""

import logging
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from customers.models import CustomerLink
from integrations.memo import memoized
from integrations.models import Connection
from integrations.sage.base import ErpInvoice
from integrations.sage.connector import ErpConnector
from integrations.sage.errors import ErpError
from integrations.sage.registry import connector_for
from payments.models import ZERO, Allocation, Invoice, ReconciliationException, Transaction
from payments.services.conversions import converted_take, payment_rate_quotes, quote_multiplier
from payments.services.erp_invoices import (
    OPEN_STATUSES,
    erp_invoice_upsert,
    invoice_cancel_if_unapplied,
    invoice_status_for,
)
from portal.lifecycle import status_transition
from portal.money import money_quantize

logger = logging.getLogger(__name__)


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
    target = invoice_status_for(balance=invoice.balance, amount=invoice.amount)
    if target != invoice.status:
        status_transition(instance=invoice, to_status=target)
    return invoice


def payment_unapplied_amount(*, payment: Transaction) -> Decimal:
    return payment.amount - payment.amount_applied


def _erp_invoices_open(
    *, connector: ErpConnector, erp_connection: Connection, link: CustomerLink | None
) -> dict[str, ErpInvoice]:
    """The customer's open invoices as the ERP holds them, read once per decided batch
    (`integrations.memo`): a batch's payments of one customer are decided within seconds, and what they
    apply meanwhile is in flight, which the upsert keeps off the balance the ERP shows."""
    if link is None:
        return {}
    return memoized(
        ("erp_invoices_open", erp_connection.pk, link.external_id),
        lambda: {
            invoice.number: invoice for invoice in connector.invoices_open(customer_number=link.external_id)
        },
    )


def payment_invoices_refresh(*, payment: Transaction, erp_connection: Connection) -> set[int]:
    """Bring our copies of the invoices `payment` may be applied to in step with the ERP; the pks of
    those the ERP no longer holds but that cannot be voided here (something is applied to them), which
    must take nothing. The ERP unreadable: nothing is refreshed and the local copies are used."""
    numbers = {payment.invoice_reference} - {""}
    link = CustomerLink.objects.filter(customer_id=payment.customer_id, connection=erp_connection).first()
    if link is not None:
        numbers |= set(
            Invoice.objects.filter(
                connection=erp_connection, customer_id=payment.customer_id, status__in=OPEN_STATUSES
            ).values_list("invoice_number", flat=True)
        )
    gone: set[int] = set()
    try:
        connector = connector_for(erp_connection)
    except ValueError as exc:  # a connection not set up to be read (no company, no folder)
        logger.warning("Invoices of %s not read from %s: %s", payment.transaction_id, erp_connection, exc)
        return gone
    try:
        found = _erp_invoices_open(connector=connector, erp_connection=erp_connection, link=link)
        for number in sorted(numbers):
            erp_invoice = found.get(number) or connector.invoice_get(number=number)
            local = Invoice.objects.filter(connection=erp_connection, invoice_number=number).first()
            if erp_invoice is not None:
                erp_invoice_upsert(connection=erp_connection, erp_invoice=erp_invoice)
            elif local is not None and not invoice_cancel_if_unapplied(invoice=local):
                gone.add(local.pk)
        for erp_invoice in found.values():
            if erp_invoice.number not in numbers:
                erp_invoice_upsert(connection=erp_connection, erp_invoice=erp_invoice)
    except ErpError as exc:
        logger.warning("Invoices of %s not read from %s: %s", payment.transaction_id, erp_connection, exc)
    return gone


def _candidate_invoices(
    *, payment: Transaction, erp_connection: Connection, excluded: set[int]
) -> list[tuple[Invoice, str]]:
    open_invoices = (
        Invoice.objects.select_for_update()
        .filter(connection=erp_connection, status__in=OPEN_STATUSES)
        .exclude(pk__in=excluded)
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
    # An order's payment belongs to the order's invoice: without one yet it waits as the order's prepayment
    # (`order_prepayments`), never on the customer's oldest unrelated invoice.
    if payment.customer_id and not payment.order_id:
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
    """Apply what is left of `payment` to open invoices, at most each one's open balance in the ERP; the
    remainder stays on account."""
    excluded = payment_invoices_refresh(payment=payment, erp_connection=erp_connection)
    quotes = payment_rate_quotes(payment=payment, erp_connection=erp_connection)
    with transaction.atomic():
        payment = (
            Transaction.objects.select_for_update(of=("self",)).select_related("order").get(pk=payment.pk)
        )
        remaining = payment_unapplied_amount(payment=payment)
        named = _invoice_named_closed(payment=payment, erp_connection=erp_connection)
        if named is not None and payment.amount_applied == ZERO:
            _paid_invoice_review(payment=payment, invoice=named)
            return []
        allocations = []
        # One receipt is posted in one currency: the currency of what it already pays, else the first
        # invoice's it can pay.
        currency = (
            payment.allocations.filter(reversed_at__isnull=True).values_list("currency", flat=True).first()
        )
        candidates = _candidate_invoices(payment=payment, erp_connection=erp_connection, excluded=excluded)
        for invoice, rule in candidates:
            if remaining <= ZERO:
                break
            quote = quotes.get(invoice.currency)
            if currency is not None and invoice.currency != currency:
                continue
            if invoice.currency != payment.currency and quote is None:
                continue  # no rate on file: the receipt's build names the one to add
            currency = invoice.currency
            conversion = {}
            if quote is None:
                amount = paid = min(remaining, invoice.balance)
            else:
                amount, paid = converted_take(quote=quote, remaining=remaining, balance=invoice.balance)
                conversion = {
                    "payment_amount": paid,
                    "rate": quote_multiplier(quote),
                    "rate_source": quote.source,
                }
            if amount <= ZERO or paid <= ZERO:
                continue
            allocations.append(
                Allocation.objects.create(
                    payment=payment,
                    invoice=invoice,
                    amount=amount,
                    currency=invoice.currency,
                    rule=rule,
                    actor=actor if actor is not None and actor.is_authenticated else None,
                    **conversion,
                )
            )
            invoice_balance_change(invoice=invoice, delta=-amount)
            remaining -= paid
        if allocations:
            applied = sum((allocation.paid_amount for allocation in allocations), ZERO)
            _payment_applied_change(payment_pk=payment.pk, delta=applied)
        elif payment.amount_applied == ZERO and remaining > ZERO and not payment.order_id:
            # An order's payment waits for the order's invoice (`order_prepayments`), not on account.
            _unapplied_review(payment=payment)
    return allocations


def _invoice_named_closed(*, payment: Transaction, erp_connection: Connection) -> Invoice | None:
    """The invoice the payment's reference names, when it is already paid (or void): the customer paid
    it twice or elsewhere, so the money must not slide onto another invoice."""
    if not payment.invoice_reference:
        return None
    named = Invoice.objects.filter(connection=erp_connection, invoice_number=payment.invoice_reference)
    if payment.customer_id:
        named = named.filter(customer_id=payment.customer_id)
    return named.exclude(status__in=OPEN_STATUSES).first()


def _paid_invoice_review(*, payment: Transaction, invoice: Invoice) -> None:
    state = invoice.get_status_display().lower()
    _unapplied_review(
        payment=payment,
        reason=f"{payment.transaction_id} ({payment.amount} {payment.currency}) names invoice"
        f" {invoice.invoice_number}, which the ERP shows {state}: it is on account.",
    )


def _unapplied_review(*, payment: Transaction, reason: str = "") -> None:
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
            "reason": reason
            or f"{payment.transaction_id} ({payment.amount} {payment.currency}, reference {reference})"
            " matched no open invoice of its customer: it is on account.",
        },
    )


def allocation_reverse(*, allocation: Allocation, actor: AbstractBaseUser | None = None) -> Allocation:
    """Undo one application locally: the invoice reopens by the amount, the payment gets it back."""
    with transaction.atomic():
        allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if allocation.reversed_at is not None:
            return allocation
        _payment_applied_change(payment_pk=allocation.payment_id, delta=-allocation.paid_amount)
        invoice_balance_change(invoice=allocation.invoice, delta=allocation.amount)
        allocation.reversed_at = timezone.now()
        allocation.reversed_by = actor if actor is not None and actor.is_authenticated else None
        allocation.save(update_fields=["reversed_at", "reversed_by"])
    return allocation


def allocation_add(*, payment: Transaction, invoice: Invoice, amount: Decimal, rule: str) -> Allocation:
    """Apply `amount` more of `payment` to `invoice` (both totals move with it)."""
    if invoice.currency != payment.currency:
        # Only `payment_apply` converts (it records the rate and its source on the allocation).
        raise ValueError(
            f"{invoice.invoice_number} is in {invoice.currency}, the payment in {payment.currency}: "
            "a cross-currency application is made by payment_apply"
        )
    with transaction.atomic():
        allocation = Allocation.objects.create(
            payment=payment, invoice=invoice, amount=amount, currency=payment.currency, rule=rule
        )
        invoice_balance_change(invoice=invoice, delta=-amount)
        _payment_applied_change(payment_pk=payment.pk, delta=amount)
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
