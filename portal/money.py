"""Money is Decimal with a currency code, quantised to the currency's minor unit, half-up."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 exponents for the currencies whose minor unit is not two digits.
_MINOR_UNITS = {
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "ISK": 0,
    "VND": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


def currency_minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def money_quantize(amount: Decimal | str | int, currency: str = "USD") -> Decimal:
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    exponent = Decimal(1).scaleb(-currency_minor_units(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)
