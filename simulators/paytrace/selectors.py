"""Reads of the PayTrace simulator; the lookups raise PayTrace's own "not found" errors."""

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.models import PtAccount, PtBatch, PtCustomer, PtToken, PtTransaction

CARD_KINDS = (PtTransaction.Kind.SALE, PtTransaction.Kind.AUTHORIZATION, PtTransaction.Kind.REFUND)
CHECK_KINDS = (PtTransaction.Kind.CHECK_SALE, PtTransaction.Kind.CHECK_HOLD, PtTransaction.Kind.CHECK_REFUND)

# PayTrace's export `transaction_type` filter values.
_TYPE_FILTERS = {
    "SALE": Q(kind__in=[PtTransaction.Kind.SALE, PtTransaction.Kind.CHECK_SALE]),
    "AUTHORIZATION": Q(kind=PtTransaction.Kind.AUTHORIZATION),
    "REFUND": Q(kind__in=[PtTransaction.Kind.REFUND, PtTransaction.Kind.CHECK_REFUND]),
    "VOID": Q(status_message="Voided"),
    "SETTLED": Q(batch__isnull=False),
    "PENDING": Q(status_code="Y"),
    "DECLINED": Q(status_message="Declined"),
    "STR/FWD": Q(pk__in=[]),
}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pt_account_for_token(*, token: str) -> PtAccount | None:
    found = (
        PtToken.objects.select_related("account")
        .filter(token_digest=token_digest(token), expires_at__gt=timezone.now())
        .first()
    )
    return found.account if found else None


def account_zone(account: PtAccount) -> ZoneInfo:
    return ZoneInfo(account.tz_name)


def _transaction_id(value: Any, *, code: str, message: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise PtApiError(code, message) from None
    if number <= 0:
        raise PtApiError(code, message)
    return number


def pt_transaction_get(
    *, account: PtAccount, transaction_id: Any, kinds: tuple[str, ...] = CARD_KINDS
) -> PtTransaction:
    number = _transaction_id(
        transaction_id, code=codes.TRANSACTION_ID_INVALID, message="Please provide a valid Transaction ID."
    )
    found = PtTransaction.objects.filter(account=account, pk=number, kind__in=kinds).first()
    if found is None:
        raise PtApiError(
            codes.TRANSACTION_NOT_FOUND,
            f"The Transaction ID, {number}, that you provided could not be found.",
        )
    return found


# AM failed_ach_refund_response (tests/contracts/data/paytrace/activemerchant/); a fund or a void words it
# otherwise (services/checks.py).
CHECK_NOT_FOUND_MESSAGE = "The Check ID that you provided was not found in the PayTrace record."


def pt_check_get(
    *, account: PtAccount, check_transaction_id: Any, message: str = CHECK_NOT_FOUND_MESSAGE
) -> PtTransaction:
    number = _transaction_id(check_transaction_id, code=codes.CHECK_NOT_FOUND, message=message)
    found = PtTransaction.objects.filter(account=account, pk=number, kind__in=CHECK_KINDS).first()
    if found is None:
        raise PtApiError(codes.CHECK_NOT_FOUND, message)
    return found


def pt_customer_get(*, account: PtAccount, customer_id: Any) -> PtCustomer:
    found = PtCustomer.objects.filter(account=account, customer_id=str(customer_id or "")).first()
    if found is None:
        raise PtApiError(
            codes.CUSTOMER_NOT_FOUND, f"Customer ID, {customer_id}, was not found or is incomplete."
        )
    return found


def us_date_parse(value: Any) -> date:
    try:
        return datetime.strptime(str(value).strip(), "%m/%d/%Y").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise PtApiError(codes.DATE_INVALID, "Please provide a valid date in MM/DD/YYYY format.") from None


def local_range(account: PtAccount, *, start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants bounding whole account-local days `start`..`end` (inclusive)."""
    zone = account_zone(account)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def pt_transactions_in_range(
    *, account: PtAccount, start: date, end: date, transaction_type: str = "", customer_id: str = ""
) -> QuerySet[PtTransaction]:
    since, until = local_range(account, start=start, end=end)
    found = PtTransaction.objects.filter(account=account, created_at__gte=since, created_at__lt=until)
    if transaction_type:
        found = found.filter(_TYPE_FILTERS.get(transaction_type.strip().upper(), Q(pk__in=[])))
    if customer_id:
        found = found.filter(customer_id=customer_id)
    return found.select_related("account", "original", "batch").order_by("pk")


def pt_batch_get(*, account: PtAccount, number: Any = None) -> PtBatch:
    batches = PtBatch.objects.filter(account=account)
    found = (
        batches.order_by("-number").first() if number in (None, "") else batches.filter(number=number).first()
    )
    if found is None:
        raise PtApiError(codes.BATCH_NOT_FOUND, "Please provide a valid Batch Number.")
    return found


def pt_batches_in_range(*, account: PtAccount, start: date, end: date) -> QuerySet[PtBatch]:
    since, until = local_range(account, start=start, end=end)
    return PtBatch.objects.filter(account=account, settled_at__gte=since, settled_at__lt=until).order_by(
        "number"
    )
