"""Customer vault (`/v1/customer/...`) and recurring payments (`/v1/recurrence/...`)."""

from typing import Any

from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.endpoint import Call, address_of, pt_endpoint
from simulators.paytrace.instruments import amount_parse, bank_fields_last4, card_parse
from simulators.paytrace.models import PtCustomer
from simulators.paytrace.selectors import pt_customer_get, us_date_parse
from simulators.paytrace.services.customers import (
    pt_customer_create,
    pt_customer_create_from_transaction,
    pt_customer_delete,
    pt_customer_update,
)
from simulators.paytrace.services.recurrences import pt_recurrence_create, pt_recurrence_delete
from simulators.paytrace.wire import EXPORT_OK, customer_record, masked_card_number

CONTACT_FIELDS = ("email", "phone", "fax")


def _profile_answer(customer: PtCustomer, *, code: int, verb: str) -> dict[str, Any]:
    name = customer.billing_address.get("name", "")
    answer: dict[str, Any] = {
        "success": True,
        "response_code": code,
        "status_message": f"The customer profile for {customer.customer_id}/{name} was successfully {verb}.",
        "customer_id": customer.customer_id,
    }
    if customer.last4 and verb != "deleted":
        answer["masked_card_number"] = masked_card_number(customer)
    return answer


def _bank_last4(call: Call) -> str:
    if call.body.get("direct_deposit_account") in (None, ""):
        return ""
    return bank_fields_last4(
        account_number=call.body.get("direct_deposit_account"),
        routing_number=call.body.get("transit_routing_number"),
    )


@pt_endpoint(writes=True)
def customer_create(call: Call) -> dict[str, Any]:
    account_last4 = _bank_last4(call)
    card = None
    if call.body.get("credit_card") or not account_last4:
        card = card_parse(call.body.get("credit_card"), csc=call.body.get("csc"), today=call.local_today())
    try:
        customer = pt_customer_create(
            account=call.account,
            customer_id=call.text("customer_id"),
            card=card,
            account_last4=account_last4,
            billing_address=address_of(call.body.get("billing_address")),
            shipping_address=address_of(call.body.get("shipping_address")),
            **{key: call.text(key) for key in CONTACT_FIELDS},
        )
    except PtApiError as refused:
        if card is not None:
            # A refused profile still names the card it was given: AM failed_customer_creation_response.
            refused.extra["masked_card_number"] = masked_card_number(card)
        raise
    return _profile_answer(customer, code=160, verb="created")


@pt_endpoint(writes=True)
def customer_create_from_transaction(call: Call) -> dict[str, Any]:
    customer = pt_customer_create_from_transaction(
        account=call.account,
        customer_id=call.text("customer_id"),
        transaction_id=call.body.get("transaction_id"),
        billing_address=address_of(call.body.get("billing_address")),
    )
    return _profile_answer(customer, code=160, verb="created")


@pt_endpoint(writes=True)
def customer_update(call: Call) -> dict[str, Any]:
    card = None
    if call.body.get("credit_card"):
        card = card_parse(call.body.get("credit_card"), csc=call.body.get("csc"), today=call.local_today())
    changes: dict[str, Any] = {key: call.text(key) for key in CONTACT_FIELDS if key in call.body}
    for key in ("billing_address", "shipping_address"):
        if key in call.body:
            changes[key] = address_of(call.body[key])
    customer = pt_customer_update(
        account=call.account,
        customer_id=call.text("customer_id"),
        card=card,
        account_last4=_bank_last4(call),
        changes=changes,
        new_id=call.text("new_id"),
    )
    return _profile_answer(customer, code=161, verb="updated")


@pt_endpoint(writes=True)
def customer_delete(call: Call) -> dict[str, Any]:
    customer = pt_customer_delete(account=call.account, customer_id=call.text("customer_id"))
    return _profile_answer(customer, code=162, verb="deleted")


@pt_endpoint(writes=False)
def customer_export(call: Call) -> dict[str, Any]:
    if call.text("customer_id"):
        customers = [pt_customer_get(account=call.account, customer_id=call.text("customer_id"))]
    else:
        customers = list(
            PtCustomer.objects.filter(account=call.account).select_related("account").order_by("pk")
        )
    return {**EXPORT_OK, "customers": [customer_record(customer) for customer in customers]}


@pt_endpoint(writes=True)
def recurrence_create(call: Call) -> dict[str, Any]:
    recurrence = call.body.get("recurrence") if isinstance(call.body.get("recurrence"), dict) else {}
    created = pt_recurrence_create(
        account=call.account,
        customer_id=call.text("customer_id"),
        amount=amount_parse(recurrence.get("amount")),
        frequency=str(recurrence.get("frequency") or ""),
        start_date=us_date_parse(recurrence.get("start_date")),
        total_count=int(recurrence.get("total_count") or 999),
        transaction_type=str(recurrence.get("transaction_type") or "Sale"),
        description=str(recurrence.get("description") or ""),
    )
    return {
        "success": True,
        "response_code": 150,
        "status_message": "The recurrence was successfully created.",
        "recurrence": {
            "id": created.pk,
            "customer_id": created.customer.customer_id,
            "amount": created.amount,
            "frequency": created.frequency,
            "start_date": created.start_date.strftime("%m/%d/%Y"),
            "total_count": created.total_count,
            "transaction_type": created.transaction_type,
            "description": created.description,
        },
    }


@pt_endpoint(writes=True)
def recurrence_delete(call: Call) -> dict[str, Any]:
    recurrence = call.body.get("recurrence") if isinstance(call.body.get("recurrence"), dict) else {}
    pt_recurrence_delete(account=call.account, recurrence_id=recurrence.get("id"))
    return {
        "success": True,
        "response_code": 152,
        "status_message": "The recurrence was successfully deleted.",
    }


@pt_endpoint(writes=False)
def recurrence_export_approved(call: Call) -> dict[str, Any]:
    # Schedules are stored, never run, so no recurring transaction has been approved yet.
    pt_customer_get(account=call.account, customer_id=call.text("customer_id"))
    return {**EXPORT_OK, "transactions": []}
