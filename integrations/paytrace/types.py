"""Values that cross the PayTrace client boundary: request inputs and typed results.

Card numbers, CSCs, account numbers and Protect tokens are inputs of the one call that needs them; their
fields are left out of `repr` so a traceback or a log line never shows them. The texts of a result are
PayTrace's and have their card numbers masked as the result is read."""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from portal.money import money_quantize
from portal.pci import card_numbers_mask

APPROVED_CODES = frozenset({101, 106, 108, 109, 112, 120, 122, 124})
DECLINED_CODES = frozenset({102, 103, 107, 110, 113, 125})
ERROR_CODE = 1


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


@dataclass(frozen=True)
class Card:
    number: str = field(repr=False)
    expiration_month: int
    expiration_year: int
    csc: str = field(default="", repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "expiration_month": self.expiration_month,
            "expiration_year": self.expiration_year,
        }


@dataclass(frozen=True)
class BankAccount:
    account_number: str = field(repr=False)
    routing_number: str = field(repr=False)

    def as_json(self) -> dict[str, Any]:
        return {"account_number": self.account_number, "routing_number": self.routing_number}


@dataclass(frozen=True)
class ProtectToken:
    """The one-time `hpf_token` + `enc_key` pair PayTrace Protect.js hands the browser."""

    hpf_token: str = field(repr=False)
    enc_key: str = field(repr=False)


@dataclass(frozen=True)
class VaultCustomer:
    """Pay with (or refund to) the card or bank account PayTrace keeps for this customer id."""

    customer_id: str
    csc: str = field(default="", repr=False)


@dataclass(frozen=True)
class BillingAddress:
    name: str = ""
    street_address: str = ""
    street_address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""

    def as_json(self) -> dict[str, str]:
        return {key: value for key, value in self.__dict__.items() if value}


@dataclass(frozen=True)
class Details:
    """Optional order fields PayTrace keeps with a sale, authorization or refund."""

    invoice_id: str = ""
    description: str = ""
    email: str = ""
    customer_reference_id: str = ""
    tax_amount: Decimal | None = None

    def as_json(self) -> dict[str, str]:
        fields = {key: value for key, value in self.__dict__.items() if value not in ("", None)}
        if self.tax_amount is not None:
            fields["tax_amount"] = str(money_quantize(self.tax_amount))
        return fields


def last4_from_masked(masked: str | None) -> str:
    digits = "".join(char for char in (masked or "") if char.isdigit())
    return digits[-4:]


@dataclass(frozen=True)
class TransactionResult:
    """The answer to a card or check transaction. For checks `transaction_id` is the check_transaction_id.

    `last4` is "" where PayTrace names no card: a sale by customer or by transaction answers without
    `masked_card_number` (PayTrace's recorded sandbox answers), as do captures, voids and refunds; the
    transaction's export record has it."""

    outcome: Outcome
    response_code: int
    status_message: str
    transaction_id: str
    approval_code: str = ""
    approval_message: str = ""
    avs_response: str = ""
    csc_response: str = ""
    last4: str = ""

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVED

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "TransactionResult":
        code = int(body.get("response_code") or 0)
        transaction_id = body.get("transaction_id") or body.get("check_transaction_id") or ""
        return cls(
            outcome=Outcome.APPROVED if code in APPROVED_CODES else Outcome.DECLINED,
            response_code=code,
            status_message=card_numbers_mask(body.get("status_message") or ""),
            transaction_id=str(transaction_id),
            approval_code=body.get("approval_code") or "",
            # The processor pads its text with runs of spaces ("  NO  MATCH - Approved").
            approval_message=card_numbers_mask(" ".join((body.get("approval_message") or "").split())),
            avs_response=body.get("avs_response") or "",
            csc_response=body.get("csc_response") or "",
            last4=last4_from_masked(body.get("masked_card_number")),
        )


@dataclass(frozen=True)
class CustomerResult:
    customer_id: str
    response_code: int
    status_message: str
    last4: str = ""

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "CustomerResult":
        return cls(
            customer_id=str(body.get("customer_id") or ""),
            response_code=int(body.get("response_code") or 0),
            status_message=card_numbers_mask(body.get("status_message") or ""),
            last4=last4_from_masked(body.get("masked_card_number")),
        )


@dataclass(frozen=True)
class RecurrenceResult:
    recurrence_id: str
    response_code: int
    status_message: str


@dataclass(frozen=True)
class SettleResult:
    response_code: int
    status_message: str
    batch_number: int | None
