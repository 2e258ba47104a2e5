"""Sage 300's own exchange rates: Common Services `CS/CSCurrencyRates` (view CS0006, CSCRD), listed with
full CRUD in the Sage 300 Web API Endpoint Reference (Aug 2022).

The endpoint is documented; its field names are not in the artefacts we hold. They are read here as the
Web API names the view's fields elsewhere (a description in PascalCase): HomeCurrency, RateType,
SourceCurrency, RateDate, Rate and RateOperation ("Multiply": home = source × rate; "Divide": home =
source ÷ rate). UNPROVEN: those names and the operation's wording; a record without them is no rate.

A company states rates from each source currency into its home currency, so a conversion either way is
one of those rows: into the home currency as the operation says, out of it the other way round."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.sage.rates import RateQuote
from integrations.sage.sage300.client import Sage300Client, literal

RATES = "CS/CSCurrencyRates"
DEFAULT_RATE_TYPE = "SP"  # Sage 300's spot rate type, the default of a new company


def _rate_date(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)[:10]).date()
    except ValueError:
        return None


def _latest(records: list[dict[str, Any]], *, on: date) -> tuple[dict[str, Any], Decimal, date] | None:
    best = None
    for record in records:
        day = _rate_date(record.get("RateDate"))
        try:
            rate = Decimal(str(record.get("Rate")))
        except InvalidOperation:
            continue
        if day is None or day > on or rate <= 0:
            continue
        if best is None or day > best[2]:
            best = (record, rate, day)
    return best


def sage300_rate_quote(
    client: Sage300Client, *, from_currency: str, to_currency: str, on: date, rate_type: str, company: str
) -> RateQuote | None:
    for home, source, into_home in ((to_currency, from_currency, True), (from_currency, to_currency, False)):
        query = (
            f"HomeCurrency eq {literal(home)} and SourceCurrency eq {literal(source)} and "
            f"RateType eq {literal(rate_type)} and RateDate le datetime'{on.isoformat()}T00:00:00'"
        )
        found = _latest(list(client.feed(RATES, query=query)), on=on)
        if found is None:
            continue
        record, rate, day = found
        multiplies = str(record.get("RateOperation") or "Multiply").casefold() != "divide"
        return RateQuote(
            from_currency=from_currency,
            to_currency=to_currency,
            rate=rate,
            operation="multiply" if multiplies == into_home else "divide",
            rate_date=day,
            source=f"Sage 300 {company} {RATES} {rate_type} {source}→{home} of {day.isoformat()}",
        )
    return None
