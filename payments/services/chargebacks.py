"""Chargebacks, from a `chargeback.created` hint or an imported dispute report.

A chargeback becomes a Transaction of type chargeback (our own id `CB-<sale id>-<n>`, as PayTrace gives
none) linked to its sale; the sale moves to charged back; the planner posts the journal entry the GL rules
say (chargebacks against clearing), or, where the status mapping's `chargeback` row says `reopen_invoice`,
the sale's invoice applications are reversed here and its receipt in the ERP (`chargeback_policy` decides
for both sides alike); and a review item waits for finance. Recording the same chargeback
again (same sale, amount and day) finds the first one and changes nothing."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction

from integrations.audit import audit_record
from integrations.selectors import ConnectionMissing
from payments.models import ZERO, ReconciliationException, Transaction
from payments.services.allocations import allocation_reverse
from payments.services.chargeback_policy import chargeback_reopens
from payments.services.pipeline import transaction_decide
from payments.services.postings import erp_connection_for
from portal.lifecycle import status_transition
from portal.money import money_quantize

Status = Transaction.Status


class ChargebackInvalid(Exception):
    pass


@dataclass(frozen=True)
class ChargebackRecorded:
    transaction: Transaction
    created: bool  # False: this chargeback was recorded before, and nothing changed


def _reopens(*, chargeback: Transaction) -> bool:
    try:
        erp = erp_connection_for(transaction=chargeback.original)
    except ConnectionMissing:
        return False
    return chargeback_reopens(chargeback=chargeback, erp=erp)


def _existing(*, sale: Transaction, amount: Decimal, occurred_at: datetime) -> Transaction | None:
    return sale.children.filter(
        transaction_type=Transaction.Type.CHARGEBACK, amount=amount, occurred_at__date=occurred_at.date()
    ).first()


def chargeback_record(
    *,
    sale: Transaction,
    amount: Decimal | None,
    occurred_at: datetime,
    reason: str,
    source: str,
    actor: AbstractBaseUser | None = None,
) -> ChargebackRecorded:
    """Record a chargeback of `amount` (the whole sale when None) against `sale`; idempotent."""
    amount = money_quantize(amount if amount is not None else sale.amount, sale.currency)
    if amount <= ZERO or amount > sale.amount:
        raise ChargebackInvalid(
            f"A chargeback of {amount} does not fit sale {sale.transaction_id} of {sale.amount}."
        )
    with db_transaction.atomic():
        sale = Transaction.objects.select_for_update().get(pk=sale.pk)
        found = _existing(sale=sale, amount=amount, occurred_at=occurred_at)
        if found is not None:
            return ChargebackRecorded(transaction=found, created=False)
        number = sale.children.filter(transaction_type=Transaction.Type.CHARGEBACK).count() + 1
        chargeback = Transaction.objects.create(
            connection=sale.connection,
            transaction_id=f"CB-{sale.transaction_id}-{number}",
            transaction_type=Transaction.Type.CHARGEBACK,
            status=Status.SETTLED,
            payment_method=sale.payment_method,
            amount=amount,
            currency=sale.currency,
            original=sale,
            customer=sale.customer,
            order=sale.order,
            invoice_reference=sale.invoice_reference,
            description=reason[:255],
            card_brand=sale.card_brand,
            last4=sale.last4,
            merchant_id=sale.merchant_id,
            occurred_at=occurred_at,
        )
        moved = Status.CHARGED_BACK in Transaction.TRANSITIONS[sale.status]
        if moved:
            status_transition(instance=sale, to_status=Status.CHARGED_BACK)
        reopened = []
        reopens = _reopens(chargeback=chargeback)
        if reopens:
            for allocation in sale.allocations.filter(reversed_at__isnull=True).select_related("invoice"):
                allocation_reverse(allocation=allocation, actor=actor)
                reopened.append(allocation.invoice.invoice_number)
        transaction_decide(chargeback)
        ReconciliationException.objects.create(
            kind=ReconciliationException.Kind.CHARGEBACK,
            dedup_key=f"chargeback-{chargeback.pk}",
            transaction=chargeback,
            settlement_batch=sale.settlement_batch,
            currency=sale.currency,
            expected_amount=sale.amount,
            reported_amount=amount,
            difference=-amount,
            reason=(
                f"Chargeback of {amount} {sale.currency} on {sale.transaction_id} ({source}):"
                f" {reason or 'no reason given'}."
                + (f" Invoice(s) {', '.join(reopened)} reopened." if reopened else "")
                + (
                    " Its receipt is reversed in the ERP."
                    if reopens
                    else " Its invoices stay paid; a journal entry books the loss."
                )
                + ("" if moved else f" The sale was {sale.status} and kept that status.")
            ),
        )
        audit_record(
            action="transaction.chargeback",
            subject=sale,
            actor=actor,
            reason=reason,
            data={"chargeback": chargeback.transaction_id, "amount": str(amount), "source": source},
        )
    return ChargebackRecorded(transaction=chargeback, created=True)
