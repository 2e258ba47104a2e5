"""A receipt's money in the ERP: posted in the currency of the invoices it pays (else its customer's),
converted from the payment's currency when they differ, with the conversion kept beside the posting.

The applications carry the amounts the allocations recorded in the invoice's currency; only what stays on
account is converted at the receipt's rate, so the applications never exceed the receipt."""

from dataclasses import dataclass
from decimal import Decimal

from customers.models import Customer
from integrations.memo import memo_forget, memo_set, memoized
from integrations.models import ErpPosting
from integrations.sage.base import ReceiptApplication
from integrations.sage.connector import ErpConnector
from integrations.sage.mapping import home_currency
from integrations.sage.rates import rate_quote
from payments.models import ZERO, Allocation, CurrencyConversion, Invoice, Transaction
from payments.services.allocations import payment_apply
from payments.services.erp_invoices import OPEN_STATUSES

RECEIPT_ALLOCATIONS = "receipt_allocations"


def receipts_allocations_prepare(*, postings: list[ErpPosting]) -> None:
    """The live allocations of a batch of receipts' payments, in one query, for `receipt_money` to find
    (`integrations.memo`): it read them one receipt at a time."""
    keys = {(p.transaction_id, p.connection_id) for p in postings if p.transaction_id}
    if not keys:
        return
    found: dict[tuple[int, int], list[Allocation]] = {key: [] for key in keys}
    rows = (
        Allocation.objects.filter(
            payment_id__in={payment for payment, _ in keys},
            invoice__connection_id__in={erp for _, erp in keys},
            reversed_at__isnull=True,
        )
        .select_related("invoice")
        .order_by("pk")
    )
    for allocation in rows:
        key = (allocation.payment_id, allocation.invoice.connection_id)
        if key in found:
            found[key].append(allocation)
    for (payment, erp), allocations in found.items():
        memo_set((RECEIPT_ALLOCATIONS, payment, erp), allocations)


@dataclass(frozen=True)
class ReceiptMoney:
    currency: str
    amount: Decimal
    applications: tuple[ReceiptApplication, ...]


def _foreign_invoices_waiting(*, transaction: Transaction, posting: ErpPosting) -> bool:
    """Nothing of the payment is applied while its customer has open invoices in another currency: it was
    planned when no rate was on file. Applied now (against the ERP's balances, as ever), a replay after
    finance adds the rate pays the invoice instead of leaving the money on account."""
    if transaction.customer_id is None or transaction.amount_applied > ZERO:
        return False
    key = ("foreign_invoices_open", posting.connection_id, transaction.customer_id, transaction.currency)
    waiting = memoized(
        key,
        lambda: (
            Invoice.objects.filter(
                connection=posting.connection, customer_id=transaction.customer_id, status__in=OPEN_STATUSES
            )
            .exclude(currency=transaction.currency)
            .exists()
        ),
    )
    if waiting:
        memo_forget(key)  # applying this payment may pay them: the next one asks again
    return waiting


def receipt_money(*, posting: ErpPosting, connector: ErpConnector, customer: Customer | None) -> ReceiptMoney:
    transaction = posting.transaction
    key = (RECEIPT_ALLOCATIONS, transaction.pk, posting.connection_id)
    if _foreign_invoices_waiting(transaction=transaction, posting=posting):
        payment_apply(payment=transaction, erp_connection=posting.connection)
        transaction.refresh_from_db(fields=["amount_applied"])
        memo_forget(key)  # read ahead before this application
    allocations = memoized(
        key,
        lambda: list(
            transaction.allocations.filter(reversed_at__isnull=True, invoice__connection=posting.connection)
            .select_related("invoice")
            .order_by("pk")
        ),
    )
    currency = (
        allocations[0].currency
        if allocations
        else customer.currency
        if customer is not None
        else home_currency(erp=posting.connection.system)
    )
    applications = tuple(
        ReceiptApplication(invoice_number=allocation.invoice.invoice_number, amount=allocation.amount)
        for allocation in allocations
    )
    if currency == transaction.currency:
        if posting.attempt_count:  # only an earlier try can have left a conversion behind
            CurrencyConversion.objects.filter(posting=posting).delete()
        return ReceiptMoney(currency=currency, amount=transaction.amount, applications=applications)
    quote = rate_quote(
        connector=connector,
        from_currency=transaction.currency,
        to_currency=currency,
        on=transaction.occurred_at.date(),
    )
    on_account = transaction.amount - sum((allocation.paid_amount for allocation in allocations), ZERO)
    amount = sum((app.amount for app in applications), ZERO) + quote.convert(on_account)
    CurrencyConversion.objects.update_or_create(
        posting=posting,
        defaults={
            "from_currency": transaction.currency,
            "from_amount": transaction.amount,
            "to_currency": currency,
            "to_amount": amount,
            "rate": quote.rate,
            "operation": quote.operation,
            "rate_date": quote.rate_date,
            "source": quote.source[:200],
        },
    )
    return ReceiptMoney(currency=currency, amount=amount, applications=applications)
