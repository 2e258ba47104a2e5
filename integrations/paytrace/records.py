"""Normalise PayTrace export records (transactions, vault customers, batches) into our vocabulary.

PayTrace reports in US-style local timestamps without a zone ("4/10/2015 4:06:30 PM"); they are parsed
here, once, with the connection's zone and turned into aware UTC. Its status codes are ambiguous ("N" is
a void, a decline and an open authorization alike), so the status is derived from the code, the message
text and the transaction type together.

This is where PayTrace's text becomes ours: every text field is read through `_text`, which masks card
numbers (a description such as "card 5454 5454 5454 5454 exp 12 30"), and the raw record is kept redacted.
Only PayTrace's own ids are read through `_identifier`, unmasked: masking one could merge two records.

No recorded exchange shows an export record (tests/contracts/data/SOURCES.md): the transaction and customer
fields read here follow PayTrace's help pages for the exports, and the batch fields its legacy batch
report. So what cannot be guessed safely (a missing or unknown transaction type or status, a batch
without a number) raises ValueError, and every other field is read as optional (absent: empty, zero or
None)."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from integrations.paytrace.types import last4_from_masked
from portal.pci import card_numbers_mask, redact

US_TIMESTAMP_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y")
_BATCH_STATUS = re.compile(r"^GB\s*(\d+)$", re.IGNORECASE)

# PayTrace's transaction_type text -> ours. Check records say "Check" and the kind of check.
_TRANSACTION_TYPES = {
    "SALE": "sale",
    "CAPTURE": "sale",
    "FORCE": "sale",
    "STR/FWD": "sale",
    "AUTHORIZATION": "authorization",
    "AUTH": "authorization",
    "REFUND": "refund",
    "CREDIT": "refund",
    "CHECK SALE": "ach_sale",
    "ACH SALE": "ach_sale",
    "CHECK HOLD": "ach_hold",
    "ACH HOLD": "ach_hold",
    "CHECK REFUND": "ach_refund",
    "ACH REFUND": "ach_refund",
}
_REFUND_TYPES = frozenset({"refund", "ach_refund"})
_HOLD_TYPES = frozenset({"authorization", "ach_hold"})

# Leading BIN digits -> brand, longest prefix first (enough for reporting; not for routing).
_BIN_BRANDS = (
    ("34", "AMEX"),
    ("37", "AMEX"),
    ("6011", "DISCOVER"),
    ("65", "DISCOVER"),
    ("644", "DISCOVER"),
    ("645", "DISCOVER"),
    ("646", "DISCOVER"),
    ("647", "DISCOVER"),
    ("648", "DISCOVER"),
    ("649", "DISCOVER"),
    ("300", "DINERS"),
    ("301", "DINERS"),
    ("302", "DINERS"),
    ("303", "DINERS"),
    ("304", "DINERS"),
    ("305", "DINERS"),
    ("36", "DINERS"),
    ("38", "DINERS"),
    ("35", "JCB"),
    ("51", "MASTERCARD"),
    ("52", "MASTERCARD"),
    ("53", "MASTERCARD"),
    ("54", "MASTERCARD"),
    ("55", "MASTERCARD"),
    ("2", "MASTERCARD"),
    ("4", "VISA"),
)
# Every brand a card can be given: the transaction list's brand filter offers these, reading no rows.
CARD_BRANDS = tuple(sorted({brand for _, brand in _BIN_BRANDS}))


def card_brand_from_bin(digits: str) -> str:
    for prefix, brand in _BIN_BRANDS:
        if digits.startswith(prefix):
            return brand
    return ""


def us_timestamp_parse(value: Any, *, tz: ZoneInfo) -> datetime | None:
    text = " ".join(str(value or "").split())
    if not text:
        return None
    for fmt in US_TIMESTAMP_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)  # noqa: DTZ007 - the zone is attached on the next line
        except ValueError:
            continue
        return naive.replace(tzinfo=tz).astimezone(UTC)
    raise ValueError(f"not a PayTrace timestamp: {text!r}")


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    if isinstance(value, float):
        raise TypeError("parse PayTrace JSON with parse_float=Decimal")
    return Decimal(str(value))


def _identifier(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _text(value: Any) -> str:
    return card_numbers_mask(_identifier(value))


def _batch_number(status_code: str) -> int | None:
    match = _BATCH_STATUS.match(status_code)
    return int(match.group(1)) if match else None


def transaction_type_normalise(raw: dict[str, Any]) -> str:
    kind = " ".join(_text(raw.get("transaction_type")).upper().replace("_", " ").split())
    if kind in _TRANSACTION_TYPES:
        return _TRANSACTION_TYPES[kind]
    if raw.get("check") or raw.get("check_transaction_id") or kind.startswith(("CHECK", "ACH")):
        if "REFUND" in kind:
            return "ach_refund"
        return "ach_hold" if "HOLD" in kind else "ach_sale"
    raise ValueError(f"unknown PayTrace transaction_type {raw.get('transaction_type')!r}")


def transaction_status_derive(*, status_code: str, status_message: str, transaction_type: str) -> str:
    """Y = pending settlement; GB<n> / "Settled" = settled; N = voided, declined, or an authorization or
    check hold not yet captured, told apart by the message text and the type."""
    code = status_code.strip().upper()
    message = status_message.strip().lower()
    if "void" in message:
        return "voided"
    if "declin" in message or "not approved" in message:
        return "declined"
    if _BATCH_STATUS.match(code) or code == "SETTLED" or message == "settled":
        return "settled"
    if "refunded" in message and transaction_type not in _REFUND_TYPES:
        return "refunded"
    if code == "Y":
        return "approved"
    if code == "N":
        if "authoriz" in message or "hold" in message or (not message and transaction_type in _HOLD_TYPES):
            return "authorized"
        raise ValueError(f"ambiguous PayTrace status N with message {status_message!r}")
    raise ValueError(f"unknown PayTrace status_code {status_code!r}")


@dataclass(frozen=True)
class TransactionRecord:
    transaction_id: str
    transaction_type: str
    status: str
    amount: Decimal
    currency: str
    status_code: str
    status_message: str
    occurred_at: datetime | None
    settled_at: datetime | None = None
    batch_number: int | None = None
    invoice_id: str = ""
    customer_id: str = ""
    description: str = ""
    approval_code: str = ""
    avs_response: str = ""
    csc_response: str = ""
    card_brand: str = ""
    last4: str = ""
    billing_name: str = ""
    billing_zip: str = ""
    billing_country: str = ""
    email: str = ""
    ip: str = ""
    original_transaction_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def payment_method(self) -> str:
        return "ach" if self.transaction_type.startswith("ach_") else "card"


def _masked_number(raw: dict[str, Any]) -> str:
    card = raw.get("credit_card") or {}
    check = raw.get("check") or {}
    return _text(
        card.get("masked_number") or check.get("masked_account_number") or raw.get("masked_card_number")
    )


def _card_brand_last4(raw: dict[str, Any]) -> tuple[str, str]:
    """Brand from the BIN when the export included it (include_bin), else from the record if it says."""
    masked = _masked_number(raw)
    leading = masked[:6] if masked[:6].isdigit() else ""
    stated = _text((raw.get("credit_card") or {}).get("type") or raw.get("card_type")).upper()
    return (card_brand_from_bin(leading) if leading else "") or stated, last4_from_masked(masked)


def transaction_record_parse(raw: dict[str, Any], *, tz: ZoneInfo) -> TransactionRecord:
    transaction_type = transaction_type_normalise(raw)
    status_code = _text(raw.get("status_code"))
    status_message = _text(raw.get("status_message"))
    card_brand, last4 = _card_brand_last4(raw)
    billing = raw.get("billing_address") or {}
    created = raw.get("created") or {}
    original = raw.get("original_transaction_id")
    return TransactionRecord(
        transaction_id=_identifier(raw.get("transaction_id") or raw.get("check_transaction_id")),
        transaction_type=transaction_type,
        status=transaction_status_derive(
            status_code=status_code, status_message=status_message, transaction_type=transaction_type
        ),
        amount=_decimal(raw.get("amount")),
        currency=_text(raw.get("currency")).upper() or "USD",
        status_code=status_code,
        status_message=status_message,
        occurred_at=us_timestamp_parse(created.get("at"), tz=tz),
        settled_at=us_timestamp_parse(raw.get("settled"), tz=tz),
        batch_number=_batch_number(status_code),
        invoice_id=_text(raw.get("invoice_id")),
        customer_id=_identifier(raw.get("customer_id")),
        description=_text(raw.get("description")),
        approval_code=_text(raw.get("approval_code")),
        avs_response=_text(raw.get("avs_response")),
        csc_response=_text(raw.get("csc_response")),
        card_brand=card_brand,
        last4=last4,
        billing_name=_text(billing.get("name")),
        billing_zip=_text(billing.get("zip")),
        billing_country=_text(billing.get("country")).upper(),
        email=_text(raw.get("email") or raw.get("receipt_emailed_to")),
        ip=_text(created.get("from_ip")),
        original_transaction_id=_identifier(original) if original else "",
        raw=redact(raw),
    )


@dataclass(frozen=True)
class CustomerRecord:
    customer_id: str
    name: str = ""
    email: str = ""
    phone: str = ""
    street_address: str = ""
    street_address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    card_brand: str = ""
    last4: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def _stamp(raw: dict[str, Any], key: str, *, tz: ZoneInfo) -> datetime | None:
    value = raw.get(key)
    return us_timestamp_parse(value.get("at") if isinstance(value, dict) else value, tz=tz)


def customer_record_parse(raw: dict[str, Any], *, tz: ZoneInfo) -> CustomerRecord:
    billing = raw.get("billing_address") or {}
    card_brand, last4 = _card_brand_last4(raw)
    return CustomerRecord(
        customer_id=_identifier(raw.get("customer_id")),
        name=_text(billing.get("name")),
        email=_text(raw.get("email")),
        phone=_text(raw.get("phone")),
        street_address=_text(billing.get("street_address")),
        street_address2=_text(billing.get("street_address2")),
        city=_text(billing.get("city")),
        state=_text(billing.get("state")),
        zip=_text(billing.get("zip")),
        country=_text(billing.get("country")).upper(),
        card_brand=card_brand,
        last4=last4,
        created_at=_stamp(raw, "created", tz=tz),
        updated_at=_stamp(raw, "updated", tz=tz),
        raw=redact(raw),
    )


@dataclass(frozen=True)
class BrandTotals:
    sales_count: int
    sales_amount: Decimal
    refund_count: int
    refund_amount: Decimal


@dataclass(frozen=True)
class BatchRecord:
    batch_number: int
    settled_at: datetime | None
    transaction_count: int
    net_amount: Decimal
    sales_count: int
    sales_amount: Decimal
    refund_count: int
    refund_amount: Decimal
    brands: dict[str, BrandTotals] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def _brand_totals(raw: dict[str, Any]) -> BrandTotals:
    return BrandTotals(
        sales_count=int(raw.get("sales_count") or 0),
        sales_amount=_decimal(raw.get("sales_amount")),
        refund_count=int(raw.get("refund_count") or 0),
        refund_amount=_decimal(raw.get("refund_amount")),
    )


def batch_record_parse(raw: dict[str, Any], *, tz: ZoneInfo) -> BatchRecord:
    """Field names are the legacy BATCHNUM / WHEN / TRANXCOUNT / NETAMOUNT / SALESCOUNT ... in snake_case;
    the per-brand breakdown comes as a `brands` map (or a list of objects with `card_type`)."""
    brands_raw = raw.get("brands") or {}
    if isinstance(brands_raw, list):
        brands_raw = {_text(item.get("card_type")).upper(): item for item in brands_raw}
    number = raw.get("number") or raw.get("batch_number")
    if not str(number or "").isdigit():
        raise ValueError(f"PayTrace batch record without a batch number: {sorted(raw)}")
    totals = _brand_totals(raw)
    return BatchRecord(
        batch_number=int(number),
        settled_at=us_timestamp_parse(raw.get("when") or raw.get("settled"), tz=tz),
        transaction_count=int(raw.get("transaction_count") or 0),
        net_amount=_decimal(raw.get("net_amount")),
        sales_count=totals.sales_count,
        sales_amount=totals.sales_amount,
        refund_count=totals.refund_count,
        refund_amount=totals.refund_amount,
        brands={brand.upper(): _brand_totals(item) for brand, item in brands_raw.items()},
        raw=redact(raw),
    )
