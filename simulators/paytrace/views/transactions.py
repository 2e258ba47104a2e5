"""Card sales, authorizations, captures, voids, refunds and forced settlement."""

from functools import partial
from typing import Any

from django.utils import timezone

from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.endpoint import Call, pt_endpoint
from simulators.paytrace.instruments import card_parse, protect_parse
from simulators.paytrace.models import PtCustomer, PtTransaction
from simulators.paytrace.selectors import pt_customer_get, pt_transaction_get
from simulators.paytrace.services.transactions import (
    pt_authorization_capture,
    pt_card_charge,
    pt_refund_unreferenced,
    pt_transaction_refund,
    pt_transaction_void,
)
from simulators.paytrace.settlement import pt_batch_settle
from simulators.paytrace.wire import (
    CAPTURE_KEYS,
    KEYED_KEYS,
    ON_FILE_KEYS,
    REFUND_KEYS,
    VOID_KEYS,
    transaction_answer,
)

Kind = PtTransaction.Kind


def _vaulted_card(call: Call) -> PtCustomer:
    customer = pt_customer_get(account=call.account, customer_id=call.text("customer_id"))
    if not customer.last4 or customer.brand == "ACH":
        raise PtApiError(
            codes.CUSTOMER_NOT_FOUND, f"Customer ID, {customer.customer_id}, was not found or is incomplete."
        )
    return customer


def _keyed(call: Call, kind: str) -> dict[str, Any]:
    card = card_parse(call.body.get("credit_card"), csc=call.body.get("csc"), today=call.local_today())
    txn = pt_card_charge(
        account=call.account, kind=kind, amount=call.amount(), origin=call.origin(), card=card
    )
    return transaction_answer(txn, keys=KEYED_KEYS)


def _by_customer(call: Call, kind: str) -> dict[str, Any]:
    customer = _vaulted_card(call)
    txn = pt_card_charge(
        account=call.account,
        kind=kind,
        amount=call.amount(),
        origin=call.origin(customer_id=customer.customer_id, billing_address=customer.billing_address),
        card_of=customer,
        csc_response="Match" if call.text("csc") else "",
    )
    return transaction_answer(txn, keys=ON_FILE_KEYS)


def _protect(call: Call, kind: str) -> dict[str, Any]:
    card = protect_parse(hpf_token=call.body.get("hpf_token"), enc_key=call.body.get("enc_key"))
    txn = pt_card_charge(
        account=call.account, kind=kind, amount=call.amount(), origin=call.origin(), card=card
    )
    return transaction_answer(txn, keys=KEYED_KEYS)


# Card transactions answer with `external_transaction_id`, and so do their errors (api_errors).
card_endpoint = pt_endpoint(writes=True, external_id=True)

# PayTrace's path pairs: the same handling for a sale and for an authorization.
sale_keyed = card_endpoint(partial(_keyed, kind=Kind.SALE))
authorization_keyed = card_endpoint(partial(_keyed, kind=Kind.AUTHORIZATION))
sale_by_customer = card_endpoint(partial(_by_customer, kind=Kind.SALE))
authorization_by_customer = card_endpoint(partial(_by_customer, kind=Kind.AUTHORIZATION))
sale_protect = card_endpoint(partial(_protect, kind=Kind.SALE))
authorization_protect = card_endpoint(partial(_protect, kind=Kind.AUTHORIZATION))


@card_endpoint
def sale_by_transaction(call: Call) -> dict[str, Any]:
    earlier = pt_transaction_get(account=call.account, transaction_id=call.body.get("transaction_id"))
    txn = pt_card_charge(
        account=call.account,
        kind=Kind.SALE,
        amount=call.amount(),
        origin=call.origin(customer_id=earlier.customer_id, billing_address=earlier.billing_address),
        card_of=earlier,
    )
    return transaction_answer(txn, keys=ON_FILE_KEYS)


@card_endpoint
def capture(call: Call) -> dict[str, Any]:
    txn = pt_authorization_capture(
        account=call.account, transaction_id=call.body.get("transaction_id"), amount=call.amount_optional()
    )
    return transaction_answer(txn, keys=CAPTURE_KEYS, response_code=112)


# A void answers without `external_transaction_id`, and so do its errors: AM successful_void_response and
# failed_void_response.
@pt_endpoint(writes=True)
def void(call: Call) -> dict[str, Any]:
    txn = pt_transaction_void(account=call.account, transaction_id=call.body.get("transaction_id"))
    return transaction_answer(txn, keys=VOID_KEYS, response_code=109)


@card_endpoint
def refund_for_transaction(call: Call) -> dict[str, Any]:
    txn = pt_transaction_refund(
        account=call.account,
        transaction_id=call.body.get("transaction_id"),
        amount=call.amount_optional(),
        from_ip=call.from_ip,
    )
    return transaction_answer(txn, keys=REFUND_KEYS)


@card_endpoint
def refund_keyed(call: Call) -> dict[str, Any]:
    card = card_parse(call.body.get("credit_card"), csc=call.body.get("csc"), today=call.local_today())
    txn = pt_refund_unreferenced(account=call.account, amount=call.amount(), origin=call.origin(), card=card)
    return transaction_answer(txn, keys=REFUND_KEYS)


@card_endpoint
def refund_to_customer(call: Call) -> dict[str, Any]:
    customer = _vaulted_card(call)
    txn = pt_refund_unreferenced(
        account=call.account,
        amount=call.amount(),
        origin=call.origin(customer_id=customer.customer_id, billing_address=customer.billing_address),
        card_of=customer,
    )
    return transaction_answer(txn, keys=REFUND_KEYS)


# UNCERTAIN: no artefact shows the answer to `settle`; 175 is the legacy API's "batch settled" code.
@pt_endpoint(writes=True)
def settle(call: Call) -> dict[str, Any]:
    batch = pt_batch_settle(account=call.account, settled_at=timezone.now())
    return {
        "success": True,
        "response_code": 175,
        "status_message": "Your batch was successfully settled."
        if batch
        else "There were no transactions to settle.",
        "batch_number": batch.number if batch else None,
    }
