"""Writes to customers and their links to outside systems."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.matching import customer_duplicates_flag, customer_match
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
# Kept in CustomerLink.raw: the synced fields as that system last reported (or was sent) them.
SEEN_KEY = "paysage_seen"


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

    def synced_values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SYNCED_FIELDS}


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


def _whole_second(moment: datetime) -> datetime:
    """Systems stamp edits at different precisions (PayTrace to the second, the ERPs finer): compared at
    the coarsest, an edit in the same second as the value we hold is not older than it."""
    return moment.replace(microsecond=0)


def customer_fields_merge(
    *,
    customer: Customer,
    data: ExternalCustomer,
    source_updated_at: datetime,
    previous: dict[str, str] | None = None,
) -> list[str]:
    """Apply, field by field, each value whose source timestamp is newer than the one we hold.

    `previous` is what the same source said last time: a field it still reports unchanged was not edited
    there, so its (record-level) timestamp says nothing about that field and cannot override a newer
    edit made elsewhere."""
    changed = []
    for name in SYNCED_FIELDS:
        value = getattr(data, name)
        held_at = customer.field_updated_at.get(name)
        if value == getattr(customer, name):
            continue
        if previous is not None and previous.get(name) == value:
            continue
        if held_at and _whole_second(datetime.fromisoformat(held_at)) > _whole_second(source_updated_at):
            continue
        setattr(customer, name, value)
        customer.field_updated_at[name] = source_updated_at.isoformat()
        changed.append(name)
    if changed:
        customer_normalized_fields_set(customer=customer)
        customer.save()
    return changed


def link_seen_fields(*, link: CustomerLink) -> dict[str, str] | None:
    """The synced fields as this system reported them at its last sync (None before the first)."""
    return (link.raw or {}).get(SEEN_KEY)


def link_raw(*, data: ExternalCustomer) -> dict:
    return {**(data.raw or {}), SEEN_KEY: data.synced_values()}


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
            # Strictly older only: PayTrace stamps to the second, so an edit made in the same second as the
            # record we hold carries the same stamp; the field-by-field merge tells whether it changed.
            if link.external_updated_at and data.updated_at and data.updated_at < link.external_updated_at:
                return link, False
            changed = customer_fields_merge(
                customer=link.customer,
                data=data,
                source_updated_at=source_updated_at,
                previous=link_seen_fields(link=link),
            )
            link.external_updated_at = data.updated_at or link.external_updated_at
            link.synced_at = timezone.now()
            link.raw = link_raw(data=data)
            link.save()
            return link, bool(changed)
        survivor_link = _merged_id_survivor_link(connection=connection, external_id=data.external_id)
        if survivor_link is not None:
            return survivor_link, False
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
                    raw=link_raw(data=data),
                )
        except IntegrityError:
            link = CustomerLink.objects.get(connection=connection, external_id=data.external_id)
            return link, False
        return link, True


def _merged_id_survivor_link(*, connection: Connection, external_id: str) -> CustomerLink | None:
    """An id merged into another customer here, still apart in that system until finance merges it
    there: its record is the kept customer's, not a new customer (nor a new duplicate to review)."""
    return (
        CustomerLink.objects.select_related("customer")
        .filter(
            connection=connection,
            customer__merged_erp_ids__contains=[{"connection": connection.pk, "external_id": external_id}],
        )
        .first()
    )


def _customer_for_new_link(
    *, connection: Connection, data: ExternalCustomer, source_updated_at: datetime
) -> Customer:
    """One clear match is linked; otherwise a new customer, flagged beside its look-alikes for review."""
    match = customer_match(
        email=data.email, name=data.name, postal_code=data.postal_code, unlinked_to=connection
    )
    if match.customer is not None:
        return match.customer
    customer = customer_create(data=data, source_updated_at=source_updated_at)
    customer_duplicates_flag(customer=customer)
    return customer
