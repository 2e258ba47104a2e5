"""A payment applied to an invoice in another currency (a CAD customer paying through a USD merchant
account): the rate comes from the ERP's own rate table when it has one, else from Paysage's currency rates,
and each application keeps the rate and where it was read."""

import logging
from decimal import Decimal

from integrations.models import Connection
from integrations.sage.errors import ErpError
from integrations.sage.rates import RateMissing, RateQuote, rate_quote
from integrations.sage.registry import connector_for
from payments.models import Invoice, Transaction
from payments.services.erp_invoices import OPEN_STATUSES

logger = logging.getLogger(__name__)
RATE_PLACES = Decimal("0.0000000001")


def payment_rate_quotes(*, payment: Transaction, erp_connection: Connection) -> dict[str, RateQuote]:
    """Rates from the payment's currency into each other currency its customer has open invoices in, as
    of the payment's day. A currency no rate is found for is left out: its invoices take nothing now, and
    the receipt's build says which rate to add."""
    if payment.customer_id is None:
        return {}
    currencies = set(
        Invoice.objects.filter(
            connection=erp_connection, customer_id=payment.customer_id, status__in=OPEN_STATUSES
        ).values_list("currency", flat=True)
    ) - {payment.currency}
    if not currencies:
        return {}
    try:
        connector = connector_for(erp_connection)
    except ValueError:
        connector = None
    quotes = {}
    for currency in sorted(currencies):
        try:
            quotes[currency] = rate_quote(
                connector=connector,
                from_currency=payment.currency,
                to_currency=currency,
                on=payment.occurred_at.date(),
            )
        except (RateMissing, ErpError) as exc:
            logger.warning(
                "No %s→%s rate for %s: %s", payment.currency, currency, payment.transaction_id, exc
            )
    return quotes


def quote_multiplier(quote: RateQuote) -> Decimal:
    """The quote as one number: payment amount × it = invoice amount (kept on the allocation)."""
    rate = quote.rate if quote.operation == "multiply" else Decimal(1) / quote.rate
    return rate.quantize(RATE_PLACES)


def converted_take(*, quote: RateQuote, remaining: Decimal, balance: Decimal) -> tuple[Decimal, Decimal]:
    """What an invoice of `balance` takes of `remaining` (payment currency): (invoice amount, payment
    amount). All of the payment when it fits, else the balance and its cost, never above `remaining`."""
    whole = quote.convert(remaining)
    if whole <= balance:
        return whole, remaining
    return balance, min(remaining, quote.convert_back(balance))
