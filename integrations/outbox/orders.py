"""Outbox documents of a storefront order: its customer in the ERP, then its sales order.

A customer posting's reference (`CUST-<our pk>`) is also the number a new ERP customer gets, so after an
ambiguous failure the ERP is searched by that reference and a retry never creates a second customer."""

from dataclasses import replace

from customers.matching import erp_customer_match
from customers.models import Customer, CustomerLink
from integrations.models import ErpPosting
from integrations.outbox.documents import customer_data_for
from integrations.sage.base import (
    CustomerData,
    ErpConnector,
    ErpPermanentError,
    SalesOrderData,
    SalesOrderLine,
)
from integrations.sage.mapping import field_defaults_get


def customer_posting_reference(customer: Customer) -> str:
    return f"CUST-{customer.pk}"


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


def sales_order_build(*, posting: ErpPosting, connector: ErpConnector) -> SalesOrderData:
    order = posting.order
    link = CustomerLink.objects.filter(customer=order.customer_id, connection=posting.connection).first()
    if link is None:
        raise ErpPermanentError(
            f"Order {order.order_id}: customer {order.customer} has no number in {posting.connection.name}.",
            code="CustomerNotLinked",
        )
    return SalesOrderData(
        reference=order.order_id,
        customer_number=link.external_id,
        currency=order.currency,
        order_date=order.created_at.date(),
        lines=tuple(
            SalesOrderLine(
                sku=line.sku, quantity=line.quantity, unit_price=line.unit_price, description=line.description
            )
            for line in order.lines.order_by("line_number")
        ),
        defaults=field_defaults_get(erp=posting.connection.system, document_type=posting.document_type),
    )
