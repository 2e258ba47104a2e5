"""ARCustomers writes (view AR0024 ARCUS, metadata type Customer): POST, PATCH, PUT and DELETE, the
verbs the Endpoint Reference lists for master data. Every property of the type is accepted (the view
already refused the names it lacks); what the simulator does not act on is kept as sent and answered
back."""

from typing import Any

from simulators.sage300.errors import WebApiError, field_invalid, not_found
from simulators.sage300.models import Company, Customer, OpenDocument
from simulators.sage300.schema import shape_of
from simulators.sage300.selectors import CUSTOMER_COLUMNS, Record, customer_record
from simulators.sage300.services.common import today

_LIMITS = {"CustomerNumber": 12, "CustomerName": 60, "ShortName": 10, "Email": 50, "PhoneNumber": 30}
# The server's own figures: a client may send them back (e.g. a record it read), they never stick.
_SERVER_SET = frozenset(("CustomerNumber", "BalanceDueInCustomerCurrency", "DateLastMaintained"))


def _optional_fields_merge(kept: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PATCH of a detail collection updates the rows it names by key (the metadata's complex type
    CustomerOptionalFieldValue: CustomerNumber + OptionalField) and inserts the others; rows it leaves
    out stay, as a PATCH leaves unsent properties."""
    rows = {str(row.get("OptionalField", "")): row for row in kept}
    for row in sent:
        rows[str(row.get("OptionalField", ""))] = {**rows.get(str(row.get("OptionalField", "")), {}), **row}
    return list(rows.values())


def _apply(customer: Customer, payload: dict[str, Any], *, replace: bool = False) -> None:
    for name, limit in _LIMITS.items():
        if len(str(payload.get(name) or "")) > limit:
            raise field_invalid(f"{name} is longer than {limit} characters.")
    properties = dict(customer.properties)
    if replace:
        # PUT is delete-then-insert: detail collections the payload leaves out are purged.
        for collection in shape_of("AR", "ARCustomers").rows:
            properties.pop(collection, None)
    for name, value in payload.items():
        if name in CUSTOMER_COLUMNS:
            setattr(customer, CUSTOMER_COLUMNS[name], str(value or ""))
        elif name == "AllowBackorderQuantities":
            customer.allow_backorders = value in ("Yes", True)
        elif name == "CustomerOptionalFieldValues" and not replace and isinstance(value, list):
            properties[name] = _optional_fields_merge(properties.get(name) or [], value)
        elif name not in _SERVER_SET:
            properties[name] = value
    customer.properties = properties
    if customer.status not in ("Active", "Inactive"):
        raise field_invalid(f'Status "{customer.status}" is not valid.')
    if len(customer.currency) != 3:
        raise field_invalid(f'Currency code "{customer.currency}" does not exist.')
    # Sage's own samples create customers without a name (the Postman "Create a Record"): none required.
    customer.short_name = customer.short_name or customer.name[:10]
    customer.date_last_maintained = today()


def customer_create(*, company: Company, payload: dict[str, Any]) -> Record:
    number = str(payload.get("CustomerNumber") or "").strip()
    if not number:
        raise field_invalid("Customer number is required.")
    if Customer.objects.filter(company=company, number=number).exists():
        raise WebApiError(409, "RecordDuplicate", f'Customer "{number}" already exists.')
    customer = Customer(company=company, number=number)
    _apply(customer, payload)
    customer.save()
    return customer_record(customer)


def _customer_locked(*, company: Company, key: dict[str, str], payload: dict[str, Any]) -> Customer:
    number = key["CustomerNumber"]
    customer = Customer.objects.filter(company=company, number=number).select_for_update().first()
    if customer is None:
        raise not_found(f'Customer "{number}" does not exist.')
    if payload.get("CustomerNumber") not in (None, number):
        raise field_invalid("The customer number of an existing customer cannot be changed.")
    return customer


def customer_update(*, company: Company, key: dict[str, str], payload: dict[str, Any]) -> None:
    """PATCH: the properties sent change, nothing else does."""
    customer = _customer_locked(company=company, key=key, payload=payload)
    _apply(customer, payload)
    customer.save()


def customer_replace(*, company: Company, key: dict[str, str], payload: dict[str, Any]) -> None:
    """PUT: as PATCH for the header; the detail collections become what the payload holds."""
    customer = _customer_locked(company=company, key=key, payload=payload)
    _apply(customer, payload, replace=True)
    customer.save()


def customer_delete(*, company: Company, key: dict[str, str]) -> None:
    customer = _customer_locked(company=company, key=key, payload={})
    # The simulator's rule, no artefact says how Sage words it: a customer with documents stays.
    if OpenDocument.objects.filter(company=company, customer_number=customer.number).exists():
        raise WebApiError(409, "RecordInvalid", f'Customer "{customer.number}" has transactions.')
    customer.delete()
