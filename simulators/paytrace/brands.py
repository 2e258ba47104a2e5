"""The card brand the simulated processor reads from a card's first six digits (its BIN / IIN).

The simulator keeps its own table, written from the ranges the card networks publish, rather than
borrowing the client's: a wrong range would otherwise pass on both sides of every test. The ranges, on
the first six digits:
- Visa: all of 4 (ISO/IEC 7812 major industry identifier 4 is Visa's).
- Mastercard: 510000-559999, and the 2-series 222100-272099 Mastercard announced for October 2016, "to be
  processed like the 5-series".
- American Express: 34 and 37.
- Discover Global Network's published IIN ranges, which also list its partners' cards: Discover 6011,
  622126-622925, 644-649, 65; Diners Club International 300-305, 3095, 36, 38-39; JCB 3528-3589.
PayTrace's published sandbox test cards (Visa 4012 0000 9876 5439, Mastercard 5499 74..., Discover
6011 00..., American Express 3714 49...) all fall inside these ranges.
"""

# (lowest BIN, highest BIN, brand); the ranges do not overlap.
_IIN_RANGES = (
    (400000, 499999, "VISA"),
    (510000, 559999, "MASTERCARD"),
    (222100, 272099, "MASTERCARD"),
    (340000, 349999, "AMEX"),
    (370000, 379999, "AMEX"),
    (601100, 601199, "DISCOVER"),
    (622126, 622925, "DISCOVER"),
    (644000, 659999, "DISCOVER"),
    (300000, 305999, "DINERS"),
    (309500, 309599, "DINERS"),
    (360000, 369999, "DINERS"),
    (380000, 399999, "DINERS"),
    (352800, 358999, "JCB"),
)


def brand_from_bin(first6: str) -> str:
    """The brand of a card whose number starts with `first6`; "" when no network claims the range."""
    if not (len(first6) == 6 and first6.isdigit()):
        return ""
    number = int(first6)
    return next((brand for low, high, brand in _IIN_RANGES if low <= number <= high), "")
