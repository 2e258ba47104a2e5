"""ACH ("checks"): sale, hold, fund, void and refund. Answers carry `check_transaction_id`."""

from decimal import Decimal
from typing import Any

from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.instruments import DECLINE_AMOUNTS
from simulators.paytrace.models import PtAccount, PtCustomer, PtTransaction
from simulators.paytrace.selectors import pt_check_get
from simulators.paytrace.services.transactions import (
    DECLINED,
    PENDING,
    VOIDED,
    Origin,
    pt_held_release,
    pt_refund_of,
    pt_transaction_record,
)

Kind = PtTransaction.Kind
HELD = ("N", "Hold")
# AM failed_ach_capture_void_response (tests/contracts/data/paytrace/activemerchant/): unknown or no longer
# manageable alike.
_MANAGE_REFUSED = (
    "The Check ID that you have provided was not found in the PayTrace records. "
    "It may already be voided or settled."
)


def customer_bank_last4(customer: PtCustomer) -> str:
    if not customer.account_last4:
        raise PtApiError(
            codes.CUSTOMER_NOT_FOUND, f"Customer ID, {customer.customer_id}, was not found or is incomplete."
        )
    return customer.account_last4


def pt_check_create(
    *, account: PtAccount, hold: bool, amount: Decimal, account_last4: str, origin: Origin
) -> PtTransaction:
    if amount in DECLINE_AMOUNTS:
        status, code = DECLINED, 125
    else:
        status, code = (HELD if hold else PENDING), 120
    return pt_transaction_record(
        account=account,
        kind=Kind.CHECK_HOLD if hold else Kind.CHECK_SALE,
        amount=amount,
        authorized_amount=amount if hold else None,
        response_code=code,
        status=status,
        origin=origin,
        account_last4=account_last4,
        brand="ACH",
    )


def pt_check_fund(*, account: PtAccount, check_transaction_id: Any, amount: Decimal | None) -> PtTransaction:
    check = pt_check_get(account=account, check_transaction_id=check_transaction_id, message=_MANAGE_REFUSED)
    if (check.status_code, check.status_message) != HELD or (amount or 0) > check.authorized_amount:
        raise PtApiError(codes.CHECK_NOT_FOUND, _MANAGE_REFUSED)
    return pt_held_release(check, amount=amount)


def pt_check_void(*, account: PtAccount, check_transaction_id: Any) -> PtTransaction:
    check = pt_check_get(account=account, check_transaction_id=check_transaction_id, message=_MANAGE_REFUSED)
    if (check.status_code, check.status_message) not in (HELD, PENDING):
        raise PtApiError(codes.CHECK_NOT_FOUND, _MANAGE_REFUSED)
    check.status_code, check.status_message = VOIDED
    check.save(update_fields=["status_code", "status_message"])
    return check


def pt_check_refund(
    *, account: PtAccount, check_transaction_id: Any, amount: Decimal | None, from_ip: str
) -> PtTransaction:
    check = pt_check_get(account=account, check_transaction_id=check_transaction_id)
    return pt_refund_of(original=check, amount=amount, from_ip=from_ip)
