"""PayTrace's vault customers into Customer + CustomerLink: the PayTrace customer id is the payment token,
and only names, contacts and addresses are read."""

from django.utils import timezone

from customers.services import ExternalCustomer, customer_link_upsert
from integrations.cursors import SyncSummary, sync_cursor_claim, sync_cursor_release
from integrations.inbox import Context, EventNotFound, inbox_handler_register
from integrations.models import Connection, WebhookEvent
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.records import CustomerRecord, customer_record_parse
from integrations.selectors import connection_timezone


def paytrace_customer_ingest(*, connection: Connection, raw: dict) -> bool:
    """Mirror one vault customer into Customer + CustomerLink; the PayTrace customer id is the token."""
    record = customer_record_parse(raw, tz=connection_timezone(connection))
    _, changed = customer_link_upsert(connection=connection, data=_external_customer(record))
    return changed


def _external_customer(record: CustomerRecord) -> ExternalCustomer:
    return ExternalCustomer(
        external_id=record.customer_id,
        name=record.name or record.customer_id,
        email=record.email,
        phone=record.phone,
        address_line1=record.street_address,
        address_line2=record.street_address2,
        city=record.city,
        state=record.state,
        postal_code=record.zip,
        country=record.country,
        updated_at=record.updated_at or record.created_at,
        raw=record.raw,
    )


def paytrace_customers_sync(*, connection: Connection, client: PayTraceClient | None = None) -> SyncSummary:
    now = timezone.now()
    cursor = sync_cursor_claim(connection=connection, resource="customers", now=now)
    if cursor is None:
        return SyncSummary(connection=connection.name, skipped=True)
    client = client or PayTraceClient.from_connection(connection)
    try:
        records = client.customer_export()
        changed = sum(paytrace_customer_ingest(connection=connection, raw=raw) for raw in records)
    except Exception as exc:
        sync_cursor_release(cursor=cursor, position=None, seen=0, error=f"{type(exc).__name__}: {exc}")
        raise
    sync_cursor_release(cursor=cursor, position=now, seen=len(records), error="")
    return SyncSummary(connection=connection.name, records=len(records), changed=changed)


def customer_event_handle(event: WebhookEvent, context: Context) -> None:
    customer_id = str(event.payload["data"]["customerId"])
    records = context.client.customer_export(customer_id=customer_id)
    if not records:
        raise EventNotFound(f"PayTrace has no vault customer {customer_id}")
    paytrace_customer_ingest(connection=context.connection, raw=records[0])


def customers_inbox_register() -> None:
    inbox_handler_register(event_type="customer.updated", handler=customer_event_handle)
