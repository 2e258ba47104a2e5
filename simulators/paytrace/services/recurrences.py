"""Recurring payment schedules. Stored and exported; the simulator does not run them."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.models import PtAccount, PtRecurrence
from simulators.paytrace.selectors import pt_customer_get


def pt_recurrence_create(
    *,
    account: PtAccount,
    customer_id: str,
    amount: Decimal,
    frequency: str,
    start_date: date,
    total_count: int,
    transaction_type: str = "Sale",
    description: str = "",
) -> PtRecurrence:
    customer = pt_customer_get(account=account, customer_id=customer_id)
    return PtRecurrence.objects.create(
        account=account,
        customer=customer,
        amount=amount,
        frequency=frequency,
        start_date=start_date,
        total_count=total_count,
        transaction_type=transaction_type,
        description=description,
        created_at=timezone.now(),
    )


def pt_recurrence_delete(*, account: PtAccount, recurrence_id: Any) -> None:
    deleted, _ = PtRecurrence.objects.filter(account=account, pk=_recurrence_pk(recurrence_id)).delete()
    if not deleted:
        raise PtApiError(codes.RECURRENCE_NOT_FOUND, "Please provide a valid Recurrence ID.")


def _recurrence_pk(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise PtApiError(codes.RECURRENCE_NOT_FOUND, "Please provide a valid Recurrence ID.") from None
