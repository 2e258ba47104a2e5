"""ARCustomers writes (view AR0024 ARCUS)."""

from typing import Any

from django.utils import timezone

from simulators.sage300.errors import WebApiError, field_invalid, not_found
from simulators.sage300.models import Company, Customer
from simulators.sage300.selectors import Record, customer_record
from simulators.sage300.services.common import payload_check

_FIELDS = {
    "CustomerName": "name",
    "ShortName": "short_name",
    "Status": "status",
    "Email": "email",
    "PhoneNumber": "phone",
    "AddressLine1": "address_line1",
    "AddressLine2": "address_line2",
    "City": "city",
    "StateProvince": "state",
    "ZipPostalCode": "postal_code",
    "Country": "country",
    "CurrencyCode": "currency",
}
# Real ARCustomers properties the simulator accepts without modelling them.
_ACCEPTED = frozenset(
    (
        "CustomerNumber GroupCode NationalAccount OnHold AccountSet BillingCycle InterestProfile "
        "PrintStatements AccountType Terms TaxGroup CreditLimitCustomerCurrency CustomerPriceList "
        "ContactName AddressLine3 AddressLine4 FaxNumber DateLastMaintained "
        "BalanceDueInCustomerCurrency AllowBackorderQuantities CustomerOptionalFieldValues"
    ).split()
) | frozenset(_FIELDS)
_LIMITS = {"CustomerNumber": 12, "CustomerName": 60, "ShortName": 10, "Email": 50, "PhoneNumber": 30}


def _apply(customer: Customer, payload: dict[str, Any]) -> None:
    for name, limit in _LIMITS.items():
        if len(str(payload.get(name) or "")) > limit:
            raise field_invalid(f"{name} is longer than {limit} characters.")
    for name, attribute in _FIELDS.items():
        if name in payload:
            setattr(customer, attribute, str(payload[name] or ""))
    if "AllowBackorderQuantities" in payload:
        customer.allow_backorders = payload["AllowBackorderQuantities"] in ("Yes", True)
    if customer.status not in ("Active", "Inactive"):
        raise field_invalid(f'Status "{customer.status}" is not valid.')
    if len(customer.currency) != 3:
        raise field_invalid(f'Currency code "{customer.currency}" does not exist.')
    if not customer.name.strip():
        raise field_invalid("Customer name is required.")
    customer.short_name = customer.short_name or customer.name[:10]
    customer.date_last_maintained = timezone.now().date()


def customer_create(*, company: Company, payload: Any) -> Record:
    payload_check(payload=payload, allowed=_ACCEPTED, entity="Customer")
    number = str(payload.get("CustomerNumber") or "").strip()
    if not number:
        raise field_invalid("Customer number is required.")
    if Customer.objects.filter(company=company, number=number).exists():
        raise WebApiError(409, "RecordDuplicate", f'Customer "{number}" already exists.')
    customer = Customer(company=company, number=number)
    _apply(customer, payload)
    customer.save()
    return customer_record(customer)


def customer_update(*, company: Company, key: str, payload: Any) -> None:
    payload_check(payload=payload, allowed=_ACCEPTED, entity="Customer")
    customer = Customer.objects.filter(company=company, number=key).select_for_update().first()
    if customer is None:
        raise not_found(f'Customer "{key}" does not exist.')
    if payload.get("CustomerNumber") not in (None, key):
        raise field_invalid("The customer number of an existing customer cannot be changed.")
    _apply(customer, payload)
    customer.save()
