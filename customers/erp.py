"""Our customers as each ERP holds them: the typed customer the connectors send, the ERP's number for a
customer (linked once, found by email then name, else created), and the outbox's customer documents.

A customer posting's reference (`CUST-<our pk>`) is also the number a new ERP customer gets, so after an
ambiguous failure the ERP is searched by that reference and a retry never creates a second customer."""

from dataclasses import replace

from customers.matching import erp_customer_match
from customers.models import Customer, CustomerLink
from integrations.memo import memo_forget, memoized
from integrations.models import ErpPosting
from integrations.sage.address import address_normalize
from integrations.sage.base import Address, CustomerData, ErpPermanentError
from integrations.sage.connector import ErpConnector
from integrations.sage.mapping import field_default_required


def customer_posting_reference(customer: Customer) -> str:
    return f"CUST-{customer.pk}"


def customer_data_for(customer: Customer) -> CustomerData:
    return CustomerData(
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        currency=customer.currency,
        address=address_normalize(
            Address(
                line1=customer.address_line1,
                line2=customer.address_line2,
                city=customer.city,
                state=customer.state,
                postal_code=customer.postal_code,
                country=customer.country,
            )
        ),
        reference=str(customer.pk),
    )


def erp_customer_number(*, posting: ErpPosting, connector: ErpConnector, customer: Customer | None) -> str:
    """The ERP's number for `customer`, linking (or creating) it the first time it is needed."""
    erp = posting.connection
    if customer is None:
        return field_default_required(
            erp=erp.system, document_type=posting.document_type, field="default_customer"
        )
    # Read once per outbox batch (`integrations.memo`): a relink made meanwhile is seen by the next batch.
    link = memoized(
        ("customer_link", customer.pk, erp.pk),
        lambda: CustomerLink.objects.filter(customer=customer, connection=erp).first(),
    )
    if link is not None:
        return link.external_id
    memo_forget(("customer_link", customer.pk, erp.pk))
    matches = connector.customer_find_by_email(email=customer.email) if customer.email else []
    if not matches:
        matches = connector.customer_find_by_name(name=customer.name)
    if len(matches) > 1:
        numbers = ", ".join(match.number for match in matches[:5])
        raise ErpPermanentError(
            f"{len(matches)} {erp.get_system_display()} customers match {customer} ({numbers}):"
            " link the right one by hand.",
            code="AmbiguousCustomer",
        )
    number = (
        matches[0].number
        if matches
        else connector.customer_upsert(customer=customer_data_for(customer)).number
    )
    CustomerLink.objects.get_or_create(customer=customer, connection=erp, defaults={"external_id": number})
    return number


def customer_build(*, posting: ErpPosting, connector: ErpConnector) -> CustomerData:
    """Our customer as the ERP should hold it: its linked number, else the ERP customer that matches it
    (email, then name and postal code), else a new one numbered by our reference."""
    customer = posting.customer
    link = CustomerLink.objects.filter(customer=customer, connection=posting.connection).first()
    if link is not None:
        number = link.external_id
    else:
        found = erp_customer_match(connector=connector, customer=customer)
        number = found.number if found is not None else posting.reference
    return replace(customer_data_for(customer), number=number, reference=posting.reference)
