"""Writes to customers and their links to outside systems."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Customer, CustomerLink
from customers.normalize import email_normalize, name_normalize
from integrations.models import Connection

SYNCED_FIELDS = (
    "name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
)


@dataclass(frozen=True)
class ExternalCustomer:
    """A customer as another system reports it, in our field names."""

    external_id: str
    name: str
    email: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    updated_at: datetime | None = None
    raw: dict | None = None


def customer_normalized_fields_set(*, customer: Customer) -> None:
    customer.email_normalized = email_normalize(customer.email)
    customer.name_normalized = name_normalize(customer.name)


def customer_create(*, data: ExternalCustomer, source_updated_at: datetime) -> Customer:
    customer = Customer(
        **{name: getattr(data, name)[: Customer._meta.get_field(name).max_length] for name in SYNCED_FIELDS}
    )
    customer.field_updated_at = {name: source_updated_at.isoformat() for name in SYNCED_FIELDS}
    customer_normalized_fields_set(customer=customer)
    customer.full_clean(exclude=["email"])
    customer.save()
    return customer


def customer_fields_merge(
    *, customer: Customer, data: ExternalCustomer, source_updated_at: datetime
) -> list[str]:
    """Apply, field by field, each value whose source timestamp is newer than the one we hold."""
    changed = []
    for name in SYNCED_FIELDS:
        value = getattr(data, name)
        held_at = customer.field_updated_at.get(name)
        if value == getattr(customer, name):
            continue
        if held_at and datetime.fromisoformat(held_at) >= source_updated_at:
            continue
        setattr(customer, name, value)
        customer.field_updated_at[name] = source_updated_at.isoformat()
        changed.append(name)
    if changed:
        customer_normalized_fields_set(customer=customer)
        customer.save()
    return changed


def customer_link_upsert(*, connection: Connection, data: ExternalCustomer) -> tuple[CustomerLink, bool]:
    """Mirror one outside customer: update the linked Customer, or link/create one. Returns the link and
    whether anything changed. Matching beyond an exact normalised email is left to the matching service."""
    source_updated_at = data.updated_at or timezone.now()
    with transaction.atomic():
        link = (
            CustomerLink.objects.select_for_update()
            .select_related("customer")
            .filter(connection=connection, external_id=data.external_id)
            .first()
        )
        if link is not None:
            if link.external_updated_at and data.updated_at and data.updated_at <= link.external_updated_at:
                return link, False
            changed = customer_fields_merge(
                customer=link.customer, data=data, source_updated_at=source_updated_at
            )
            link.external_updated_at = data.updated_at or link.external_updated_at
            link.synced_at = timezone.now()
            link.raw = data.raw or {}
            link.save()
            return link, bool(changed)
        customer = _customer_for_new_link(
            connection=connection, data=data, source_updated_at=source_updated_at
        )
        try:
            with transaction.atomic():
                link = CustomerLink.objects.create(
                    customer=customer,
                    connection=connection,
                    external_id=data.external_id,
                    external_updated_at=data.updated_at,
                    synced_at=timezone.now(),
                    raw=data.raw or {},
                )
        except IntegrityError:
            link = CustomerLink.objects.get(connection=connection, external_id=data.external_id)
            return link, False
        return link, True


def _customer_for_new_link(
    *, connection: Connection, data: ExternalCustomer, source_updated_at: datetime
) -> Customer:
    email = email_normalize(data.email)
    if email:
        candidates = list(
            Customer.objects.filter(email_normalized=email).exclude(links__connection=connection)[:2]
        )
        if len(candidates) == 1:
            return candidates[0]
    return customer_create(data=data, source_updated_at=source_updated_at)
