"""Customers both ways: PayTrace's vault ⇄ our customers ⇄ each ERP's customers.

A run first pulls every system (the vault export, each ERP's customers changed since its cursor), so every
edit is merged field by field, the newest source timestamp winning (`customer_fields_merge`). Only then
does it push: each linked system whose last known values differ from ours receives our merged record.
Pulling everything before pushing means an older edit in one system never overwrites a newer one made
elsewhere in between. Only names, contacts and addresses travel: the PayTrace customer id is the payment
token, and no card or bank data is ever read or sent."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.utils import timezone

from customers.erp import customer_data_for
from customers.models import Customer, CustomerLink
from customers.paytrace import paytrace_customers_sync
from customers.services import (
    SEEN_KEY,
    SYNCED_FIELDS,
    ExternalCustomer,
    customer_link_upsert,
    link_seen_fields,
)
from integrations.alerts import alert_raise
from integrations.cursors import sync_cursor_claim, sync_cursor_release
from integrations.models import ERP_SYSTEMS, Connection, System
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import PayTraceError
from integrations.paytrace.types import BillingAddress
from integrations.sage.base import ErpCustomer, ErpError
from integrations.sage.connector import ErpConnector
from integrations.sage.registry import connector_for
from integrations.selectors import connections_active

PULL, PUSH = "customers", "customers_push"


@dataclass
class CustomerSyncSummary:
    connection: str
    direction: str
    skipped: bool = False
    seen: int = 0
    changed: int = 0
    failed: int = 0


def erp_customer_external(erp_customer: ErpCustomer) -> ExternalCustomer:
    address = erp_customer.address
    return ExternalCustomer(
        external_id=erp_customer.number,
        name=erp_customer.name or erp_customer.number,
        email=erp_customer.email,
        phone=erp_customer.phone,
        address_line1=address.line1,
        address_line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
        country=address.country,
        updated_at=erp_customer.updated_at,
        raw=erp_customer.raw,
    )


def _window_start(cursor) -> datetime | None:
    return cursor.position - timedelta(seconds=cursor.overlap_seconds) if cursor.position else None


def erp_customers_pull(
    *, connection: Connection, connector: ErpConnector | None = None
) -> CustomerSyncSummary:
    """Mirror the ERP's customers changed since the cursor (less the overlap) into ours."""
    summary = CustomerSyncSummary(connection=connection.name, direction="pull")
    now = timezone.now()
    cursor = sync_cursor_claim(connection=connection, resource=PULL, now=now)
    if cursor is None:
        summary.skipped = True
        return summary
    connector = connector or connector_for(connection)
    try:
        for erp_customer in connector.customers_changed(since=_window_start(cursor)):
            _, changed = customer_link_upsert(connection=connection, data=erp_customer_external(erp_customer))
            summary.seen += 1
            summary.changed += int(changed)
    except Exception as exc:
        sync_cursor_release(cursor=cursor, position=None, seen=0, error=f"{type(exc).__name__}: {exc}")
        raise
    sync_cursor_release(cursor=cursor, position=now, seen=summary.seen, error="")
    return summary


def _our_values(customer: Customer) -> dict[str, str]:
    return {name: getattr(customer, name) for name in SYNCED_FIELDS}


def link_is_behind(*, link: CustomerLink) -> bool:
    """True when the system holds (as far as we know) something other than our value in a field we fill.
    A blank of ours is never pushed: the connectors do not wipe what someone typed there."""
    seen = link_seen_fields(link=link)
    if seen is None:
        return True
    return any(value and seen.get(name) != value for name, value in _our_values(link.customer).items())


def _push_to_erp(*, connector: ErpConnector, link: CustomerLink) -> None:
    # Our number in that ERP, no reference: the reference the ERP keeps is the one it was created with.
    data = replace(customer_data_for(link.customer), number=link.external_id, reference="")
    connector.customer_upsert(customer=data)


def _push_to_paytrace(*, client: PayTraceClient, link: CustomerLink) -> None:
    customer = link.customer
    client.customer_update(
        customer_id=link.external_id,
        billing_address=BillingAddress(
            name=customer.name,
            street_address=customer.address_line1,
            street_address2=customer.address_line2,
            city=customer.city,
            state=customer.state,
            zip=customer.postal_code,
            country=customer.country,
        ),
        email=customer.email,
        phone=customer.phone,
    )


def customers_push(*, connection: Connection) -> CustomerSyncSummary:
    """Send our merged record to `connection` for each linked customer changed since the last push whose
    values there are behind ours. Failures are alerted, not retried in a loop: the next edit, or a replay
    of the window (clear the cursor), sends them again."""
    summary = CustomerSyncSummary(connection=connection.name, direction="push")
    now = timezone.now()
    cursor = sync_cursor_claim(connection=connection, resource=PUSH, now=now)
    if cursor is None:
        summary.skipped = True
        return summary
    links = CustomerLink.objects.filter(connection=connection).select_related("customer").order_by("pk")
    start = _window_start(cursor)
    if start is not None:
        links = links.filter(customer__updated_at__gte=start)
    if connection.system == System.PAYTRACE:
        client = PayTraceClient.from_connection(connection)
        push = lambda link: _push_to_paytrace(client=client, link=link)  # noqa: E731
    else:
        connector = connector_for(connection)
        push = lambda link: _push_to_erp(connector=connector, link=link)  # noqa: E731
    errors = []
    for link in links.iterator(chunk_size=500):
        summary.seen += 1
        if not link_is_behind(link=link):
            continue
        try:
            push(link)
        except (ErpError, PayTraceError) as exc:
            summary.failed += 1
            errors.append(f"{link.external_id}: {exc}")
            continue
        CustomerLink.objects.filter(pk=link.pk).update(
            raw={**(link.raw or {}), SEEN_KEY: _our_values(link.customer)}, synced_at=timezone.now()
        )
        summary.changed += 1
    if errors:
        alert_raise(
            title=f"{len(errors)} customer update(s) could not be sent to {connection.name}",
            message="\n".join(errors[:50]),
            subject=connection,
        )
    sync_cursor_release(cursor=cursor, position=now, seen=summary.seen, error="\n".join(errors)[:2000])
    return summary


def customers_sync() -> list[CustomerSyncSummary]:
    """One two-way run over every active connection: all pulls, then all pushes."""
    connections = list(connections_active().filter(system__in=[System.PAYTRACE, *ERP_SYSTEMS]).order_by("pk"))
    summaries = []
    for connection in connections:
        if connection.system == System.PAYTRACE:
            pulled = paytrace_customers_sync(connection=connection)
            summaries.append(
                CustomerSyncSummary(
                    connection=connection.name,
                    direction="pull",
                    skipped=pulled.skipped,
                    seen=pulled.records,
                    changed=pulled.changed,
                )
            )
        else:
            summaries.append(erp_customers_pull(connection=connection))
    summaries += [customers_push(connection=connection) for connection in connections]
    return summaries
