"""ACH: `/v1/checks/...`."""

from functools import partial
from typing import Any

from simulators.paytrace.endpoint import Call, pt_endpoint
from simulators.paytrace.instruments import bank_account_last4
from simulators.paytrace.selectors import pt_customer_get
from simulators.paytrace.services.checks import (
    customer_bank_last4,
    pt_check_create,
    pt_check_fund,
    pt_check_refund,
    pt_check_void,
)
from simulators.paytrace.wire import check_answer


def _by_account(call: Call, *, hold: bool) -> dict[str, Any]:
    last4 = bank_account_last4(call.body.get("check"))
    txn = pt_check_create(
        account=call.account, hold=hold, amount=call.amount(), account_last4=last4, origin=call.origin()
    )
    return check_answer(txn)


def _by_customer(call: Call, *, hold: bool) -> dict[str, Any]:
    customer = pt_customer_get(account=call.account, customer_id=call.text("customer_id"))
    txn = pt_check_create(
        account=call.account,
        hold=hold,
        amount=call.amount(),
        account_last4=customer_bank_last4(customer),
        origin=call.origin(customer_id=customer.customer_id, billing_address=customer.billing_address),
    )
    return check_answer(txn)


sale_by_account = pt_endpoint(writes=True)(partial(_by_account, hold=False))
hold_by_account = pt_endpoint(writes=True)(partial(_by_account, hold=True))
sale_by_customer = pt_endpoint(writes=True)(partial(_by_customer, hold=False))
hold_by_customer = pt_endpoint(writes=True)(partial(_by_customer, hold=True))


@pt_endpoint(writes=True)
def fund(call: Call) -> dict[str, Any]:
    txn = pt_check_fund(
        account=call.account,
        check_transaction_id=call.body.get("check_transaction_id"),
        amount=call.amount_optional(),
    )
    return check_answer(txn, response_code=124)


@pt_endpoint(writes=True)
def void(call: Call) -> dict[str, Any]:
    txn = pt_check_void(account=call.account, check_transaction_id=call.body.get("check_transaction_id"))
    return check_answer(txn, response_code=124)


@pt_endpoint(writes=True)
def refund_by_transaction(call: Call) -> dict[str, Any]:
    txn = pt_check_refund(
        account=call.account,
        check_transaction_id=call.body.get("check_transaction_id"),
        amount=call.amount_optional(),
        from_ip=call.from_ip,
    )
    return check_answer(txn)
