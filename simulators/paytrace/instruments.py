"""What the simulated processor makes of a card or a bank account: validation (35/43/44/45/46), brand,
the digits it may keep, and the approve/decline decision driven by the documented sandbox amounts."""

import random
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from portal.pci import luhn_valid
from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.brands import brand_from_bin

DECLINE_AMOUNTS = frozenset({Decimal("0.29"), Decimal("1.12")})
TEST_VISA_LAST4_FIRST6 = ("401200", "5439")
TEST_VISA_CSC = "999"
# Protect.js tokens cannot be decrypted offline: every well-formed pair stands for the test Visa.
PROTECT_CARD = ("VISA", "401200", "5439")
_UUID = re.compile(r"^[0-9a-fA-F-]{16,64}$")


@dataclass(frozen=True)
class CardFacts:
    brand: str
    first6: str
    last4: str
    expiration_month: int | None = None
    expiration_year: int | None = None
    csc_response: str = ""

    def as_fields(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "first6": self.first6,
            "last4": self.last4,
            "expiration_month": self.expiration_month,
            "expiration_year": self.expiration_year,
        }


@dataclass(frozen=True)
class Decision:
    approved: bool
    approval_code: str
    approval_message: str
    avs_response: str


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _raise_all(problems: list[PtApiError]) -> None:
    """PayTrace reports every problem of a request in one answer."""
    if problems:
        first = problems[0]
        for other in problems[1:]:
            first.merge(other)
        raise first


def card_parse(credit_card: Any, *, csc: Any = "", today: date) -> CardFacts:
    """Validate a keyed card and keep only what may be kept. All problems are reported together."""
    card = credit_card if isinstance(credit_card, dict) else {}
    digits = re.sub(r"[ -]", "", str(card.get("number") or card.get("encrypted_number") or ""))
    problems: list[PtApiError] = []
    if not (digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits)):
        problems.append(PtApiError(codes.CARD_NUMBER_INVALID, "Please provide a valid Credit Card Number."))
    month, year = _int(card.get("expiration_month")), _int(card.get("expiration_year"))
    if month is None or not 1 <= month <= 12:
        problems.append(
            PtApiError(codes.EXPIRATION_MONTH_INVALID, "Please provide a valid Expiration Month.")
        )
    if year is not None and year < 100:
        year += 2000
    if (
        year is None
        or not today.year <= year <= today.year + 20
        or (year == today.year and (month or 13) < today.month)
    ):
        problems.append(PtApiError(codes.EXPIRATION_YEAR_INVALID, "Please provide a valid Expiration Year."))
    csc_text = str(csc or "").strip()
    if csc_text and not (csc_text.isdigit() and 3 <= len(csc_text) <= 4):
        problems.append(PtApiError(codes.CSC_INVALID, "Please provide a valid Card Security Code."))
    _raise_all(problems)
    first6, last4 = digits[:6], digits[-4:]
    return CardFacts(
        brand=brand_from_bin(first6),
        first6=first6,
        last4=last4,
        expiration_month=month,
        expiration_year=year,
        csc_response=_csc_response(first6, last4, csc_text),
    )


def _csc_response(first6: str, last4: str, csc: str) -> str:
    if not csc:
        return ""
    if (first6, last4) == TEST_VISA_LAST4_FIRST6 and csc != TEST_VISA_CSC:
        return "No Match"
    return "Match"


def protect_parse(*, hpf_token: Any, enc_key: Any) -> CardFacts:
    if not (isinstance(hpf_token, str) and _UUID.match(hpf_token) and isinstance(enc_key, str) and enc_key):
        raise PtApiError(codes.CARD_NUMBER_INVALID, "Please provide a valid Credit Card Number.")
    brand, first6, last4 = PROTECT_CARD
    return CardFacts(brand=brand, first6=first6, last4=last4, expiration_month=12, expiration_year=2030)


def bank_account_last4(check: Any) -> str:
    data = check if isinstance(check, dict) else {}
    return bank_fields_last4(
        account_number=data.get("account_number"), routing_number=data.get("routing_number")
    )


def bank_fields_last4(*, account_number: Any, routing_number: Any) -> str:
    account = str(account_number or "").strip()
    routing = str(routing_number or "").strip()
    problems = []
    if not (account.isdigit() and 4 <= len(account) <= 17):
        problems.append(
            PtApiError(codes.CHECK_ACCOUNT_INVALID, "Please provide a valid Checking Account Number.")
        )
    if not (routing.isdigit() and len(routing) == 9 and _aba_valid(routing)):
        problems.append(
            PtApiError(codes.ROUTING_NUMBER_INVALID, "Please provide a valid Transit Routing Number.")
        )
    _raise_all(problems)
    return account[-4:]


def _aba_valid(routing: str) -> bool:
    weights = (3, 7, 1) * 3
    return sum(int(digit) * weight for digit, weight in zip(routing, weights, strict=True)) % 10 == 0


def amount_parse(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        amount = Decimal("-1")
    if value is None or not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PtApiError(codes.AMOUNT_INVALID, "Please provide a valid Transaction Amount.")
    return amount


def processor_decide(*, amount: Decimal, brand: str, billing_address: dict[str, Any]) -> Decision:
    """The sandbox declines on the documented amounts; AVS matches only a full street + zip."""
    full_address = bool(billing_address.get("street_address") and billing_address.get("zip"))
    avs = "Full Exact Match" if full_address else "No Match"
    avs_text = "EXACT MATCH" if full_address else "NO  MATCH"
    if amount in DECLINE_AMOUNTS:
        reason = "  EXPIRED CARD - Expired card" if brand == "MASTERCARD" else "    DECLINE - Do not honor"
        return Decision(approved=False, approval_code="", approval_message=reason, avs_response=avs)
    return Decision(
        approved=True,
        approval_code=f"TAS{random.randint(0, 999):03d}",
        approval_message=f"  {avs_text} - Approved and completed",
        avs_response=avs,
    )
