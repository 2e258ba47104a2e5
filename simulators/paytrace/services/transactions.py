"""Card transactions and the refund logic shared with checks.

Status follows PayTrace: an approved sale or captured authorization is "Y" / "Pending Settlement"; an open
authorization, a void and a decline are all "N" with their own message; settlement turns "Y" into
"GB<batch>"."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.instruments import CardFacts, processor_decide
from simulators.paytrace.models import PtAccount, PtCard, PtTransaction
from simulators.paytrace.selectors import pt_transaction_get

Kind = PtTransaction.Kind
PENDING = ("Y", "Pending Settlement")
AUTH_ONLY = ("N", "Authorization Only")
DECLINED = ("N", "Declined")
VOIDED = ("N", "Voided")


@dataclass(frozen=True)
class Origin:
    """Who sent a request and the order fields that came with it."""

    from_ip: str = ""
    details: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    customer_id: str = ""


def pt_transaction_record(
    *,
    account: PtAccount,
    kind: str,
    amount: Decimal,
    response_code: int,
    status: tuple[str, str],
    origin: Origin,
    card: CardFacts | None = None,
    card_of: PtCard | None = None,
    **fields: Any,
) -> PtTransaction:
    """Write one transaction row; the instrument comes from parsed card facts or from `card_of`, an earlier
    transaction or a vault profile."""
    instrument = card.as_fields() if card else {}
    if card_of is not None:
        instrument = {
            name: getattr(card_of, name)
            for name in ("brand", "first6", "last4", "expiration_month", "expiration_year", "account_last4")
        }
    return PtTransaction.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        response_code=response_code,
        status_code=status[0],
        status_message=status[1],
        customer_id=origin.customer_id,
        billing_address=origin.billing_address or {},
        created_at=timezone.now(),
        created_by=account.username,
        from_ip=origin.from_ip,
        **(origin.details or {}),
        **instrument,
        **fields,
    )


def pt_card_charge(
    *,
    account: PtAccount,
    kind: str,
    amount: Decimal,
    origin: Origin,
    card: CardFacts | None = None,
    card_of: PtCard | None = None,
    csc_response: str = "",
) -> PtTransaction:
    """A sale or an authorization on a keyed card, a vaulted card or the card of an earlier transaction."""
    brand = card.brand if card else card_of.brand
    decision = processor_decide(amount=amount, brand=brand, billing_address=origin.billing_address or {})
    if not decision.approved:
        status, code = DECLINED, 102
    else:
        status, code = (AUTH_ONLY if kind == Kind.AUTHORIZATION else PENDING), 101
    return pt_transaction_record(
        account=account,
        kind=kind,
        amount=amount,
        authorized_amount=amount if kind == Kind.AUTHORIZATION else None,
        response_code=code,
        status=status,
        origin=origin,
        card=card,
        card_of=card_of,
        approval_code=decision.approval_code,
        approval_message=decision.approval_message,
        avs_response=decision.avs_response,
        csc_response=card.csc_response if card else csc_response,
    )


def pt_authorization_capture(
    *, account: PtAccount, transaction_id: Any, amount: Decimal | None
) -> PtTransaction:
    authorization = pt_transaction_get(account=account, transaction_id=transaction_id)
    if (
        authorization.kind != Kind.AUTHORIZATION
        or (authorization.status_code, authorization.status_message) != AUTH_ONLY
    ):
        raise PtApiError(
            codes.CAPTURE_NOT_ALLOWED,
            "Only approved authorizations that have not been captured may be captured.",
        )
    if amount is not None and amount > authorization.authorized_amount:
        raise PtApiError(codes.AMOUNT_INVALID, "The capture amount may not exceed the authorized amount.")
    return pt_held_release(authorization, amount=amount)


def pt_held_release(held: PtTransaction, *, amount: Decimal | None) -> PtTransaction:
    """Capture an authorization or fund a check hold: it becomes pending settlement for `amount` (all of
    it by default)."""
    held.amount = amount or held.authorized_amount
    held.status_code, held.status_message = PENDING
    held.save(update_fields=["amount", "status_code", "status_message"])
    return held


def pt_transaction_void(*, account: PtAccount, transaction_id: Any) -> PtTransaction:
    target = pt_transaction_get(account=account, transaction_id=transaction_id)
    if (target.status_code, target.status_message) not in (PENDING, AUTH_ONLY):
        raise PtApiError(
            codes.VOID_NOT_PENDING, "Only transactions that are pending settlement may be voided."
        )
    target.status_code, target.status_message = VOIDED
    target.save(update_fields=["status_code", "status_message"])
    return target


def refundable_amount(original: PtTransaction) -> Decimal:
    refunded = original.refunds.filter(response_code__in=(106, 122)).exclude(status_message="Voided")
    return original.amount - (refunded.aggregate(total=Sum("amount"))["total"] or Decimal("0"))


def pt_refund_of(*, original: PtTransaction, amount: Decimal | None, from_ip: str) -> PtTransaction:
    """Refund a settled card or check transaction (a new transaction linked to it). Before settlement
    PayTrace refuses with 817: the merchant must void instead."""
    if original.batch_id is None or original.kind in (Kind.REFUND, Kind.CHECK_REFUND):
        raise PtApiError(
            codes.REFUND_NOT_SETTLED,
            "Only settled transactions may be refunded. Please void this transaction.",
        )
    is_check = original.is_check
    remaining = refundable_amount(original)
    amount = amount or remaining
    approved = amount <= remaining
    return pt_transaction_record(
        account=original.account,
        kind=Kind.CHECK_REFUND if is_check else Kind.REFUND,
        amount=amount,
        response_code=(122 if is_check else 106) if approved else (125 if is_check else 107),
        status=PENDING if approved else DECLINED,
        origin=Origin(
            from_ip=from_ip, billing_address=original.billing_address, customer_id=original.customer_id
        ),
        card_of=original,
        original=original,
        invoice_id=original.invoice_id,
    )


def pt_transaction_refund(
    *, account: PtAccount, transaction_id: Any, amount: Decimal | None, from_ip: str
) -> PtTransaction:
    original = pt_transaction_get(account=account, transaction_id=transaction_id)
    if original.status_code in ("N",):
        raise PtApiError(
            codes.REFUND_NOT_SETTLED,
            "Only settled transactions may be refunded. Please void this transaction.",
        )
    return pt_refund_of(original=original, amount=amount, from_ip=from_ip)


def pt_refund_unreferenced(
    *,
    account: PtAccount,
    amount: Decimal,
    origin: Origin,
    card: CardFacts | None = None,
    card_of: PtCard | None = None,
) -> PtTransaction:
    """A refund to a keyed card or a vaulted customer, not tied to an earlier sale."""
    return pt_transaction_record(
        account=account,
        kind=Kind.REFUND,
        amount=amount,
        response_code=106,
        status=PENDING,
        origin=origin,
        card=card,
        card_of=card_of,
    )
