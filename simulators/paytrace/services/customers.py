"""The customer vault: profiles keyed by the merchant's own customer_id."""

from typing import Any

from django.utils import timezone

from simulators.paytrace import api_errors as codes
from simulators.paytrace.api_errors import PtApiError
from simulators.paytrace.instruments import CardFacts
from simulators.paytrace.models import PtAccount, PtCustomer
from simulators.paytrace.selectors import pt_customer_get, pt_transaction_get


def _unique_check(*, account: PtAccount, customer_id: str) -> None:
    if not customer_id or PtCustomer.objects.filter(account=account, customer_id=customer_id).exists():
        raise PtApiError(codes.CUSTOMER_ID_NOT_UNIQUE, "Please provide a unique customer ID.")


def pt_customer_create(
    *,
    account: PtAccount,
    customer_id: str,
    card: CardFacts | None = None,
    account_last4: str = "",
    billing_address: dict[str, Any] | None = None,
    shipping_address: dict[str, Any] | None = None,
    email: str = "",
    phone: str = "",
    fax: str = "",
) -> PtCustomer:
    _unique_check(account=account, customer_id=customer_id)
    now = timezone.now()
    return PtCustomer.objects.create(
        account=account,
        customer_id=customer_id,
        account_last4=account_last4,
        billing_address=billing_address or {},
        shipping_address=shipping_address or {},
        email=email,
        phone=phone,
        fax=fax,
        created_at=now,
        updated_at=now,
        **(card.as_fields() if card else {}),
    )


def pt_customer_create_from_transaction(
    *,
    account: PtAccount,
    customer_id: str,
    transaction_id: Any,
    billing_address: dict[str, Any] | None = None,
) -> PtCustomer:
    source = pt_transaction_get(account=account, transaction_id=transaction_id)
    _unique_check(account=account, customer_id=customer_id)
    now = timezone.now()
    return PtCustomer.objects.create(
        account=account,
        customer_id=customer_id,
        brand=source.brand,
        first6=source.first6,
        last4=source.last4,
        expiration_month=source.expiration_month,
        expiration_year=source.expiration_year,
        billing_address=billing_address or source.billing_address,
        shipping_address=source.shipping_address,
        email=source.email,
        created_at=now,
        updated_at=now,
    )


def pt_customer_update(
    *,
    account: PtAccount,
    customer_id: str,
    card: CardFacts | None = None,
    account_last4: str = "",
    changes: dict[str, Any],
    new_id: str = "",
) -> PtCustomer:
    """`changes` holds the plain fields sent (billing_address, shipping_address, email, phone, fax)."""
    customer = pt_customer_get(account=account, customer_id=customer_id)
    if new_id and new_id != customer.customer_id:
        _unique_check(account=account, customer_id=new_id)
        customer.customer_id = new_id
    for name, value in (card.as_fields() if card else {}).items():
        setattr(customer, name, value)
    if account_last4:
        customer.account_last4 = account_last4
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.updated_at = timezone.now()
    customer.save()
    return customer


def pt_customer_delete(*, account: PtAccount, customer_id: str) -> PtCustomer:
    customer = pt_customer_get(account=account, customer_id=customer_id)
    customer.delete()
    return customer
