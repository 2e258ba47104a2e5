"""Exchange rates for money that crosses currencies on its way to an ERP: the ERP's own rate table when it
publishes one (the connector's `currency_rate`), else finance's CurrencyRate table. Every conversion says
which rate it used and where that rate came from, so a receipt posted in another currency can be traced."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from integrations.models import CurrencyRate
from integrations.sage.mapping import MappingMissing
from portal.money import money_quantize

LOCAL_SOURCE = "Paysage currency rate"


@dataclass(frozen=True)
class RateQuote:
    """`from_currency` amounts become `to_currency` ones by multiplying or dividing by `rate`, as the ERP
    states it (Sage 300 keeps an operation beside each rate), so no inverse is ever rounded."""

    from_currency: str
    to_currency: str
    rate: Decimal
    operation: Literal["multiply", "divide"]
    rate_date: date
    source: str  # where the rate was read, e.g. "Sage 300 CS/CSCurrencyRates SP 2026-01-01"

    def convert(self, amount: Decimal) -> Decimal:
        raw = amount * self.rate if self.operation == "multiply" else amount / self.rate
        return money_quantize(raw, self.to_currency)

    def convert_back(self, amount: Decimal) -> Decimal:
        raw = amount / self.rate if self.operation == "multiply" else amount * self.rate
        return money_quantize(raw, self.from_currency)


class RateMissing(MappingMissing):
    pass


class RateTable(Protocol):
    """What `rate_quote` needs of a connector (kept apart: the connector module imports this one)."""

    rate_table: str
    settings: Any  # its `name` says which connection was asked

    def currency_rate(self, *, from_currency: str, to_currency: str, on: date) -> RateQuote | None: ...


def local_rate_quote(*, from_currency: str, to_currency: str, on: date) -> RateQuote | None:
    """The latest CurrencyRate valid on `on`; a rate on file only the other way round is divided by."""
    for source, target, operation in (
        (from_currency, to_currency, "multiply"),
        (to_currency, from_currency, "divide"),
    ):
        row = (
            CurrencyRate.objects.filter(from_currency=source, to_currency=target, valid_from__lte=on)
            .order_by("-valid_from")
            .first()
        )
        if row is not None:
            return RateQuote(
                from_currency=from_currency,
                to_currency=to_currency,
                rate=row.rate,
                operation=operation,
                rate_date=row.valid_from,
                source=f"{LOCAL_SOURCE} {row.from_currency}/{row.to_currency} of {row.valid_from}",
            )
    return None


def rate_quote(*, connector: RateTable | None, from_currency: str, to_currency: str, on: date) -> RateQuote:
    """The rate for `on`: the ERP's table first (`connector` may be None when no ERP is at hand), then ours.
    Neither having one is a permanent posting error naming where it was looked for, so finance knows what
    to add before a replay."""
    quote = None
    if connector is not None:
        quote = connector.currency_rate(from_currency=from_currency, to_currency=to_currency, on=on)
    quote = quote or local_rate_quote(from_currency=from_currency, to_currency=to_currency, on=on)
    if quote is None:
        places = ["Paysage's currency rates"]
        if connector is not None and connector.rate_table:
            places.insert(0, f"{connector.settings.name} ({connector.rate_table})")
        raise RateMissing(
            f"No currency rate {from_currency}→{to_currency} valid on {on.isoformat()} in "
            f"{' nor in '.join(places)}: add one, then replay."
        )
    return quote
