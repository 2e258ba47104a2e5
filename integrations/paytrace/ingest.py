"""PayTrace records into our tables: one path for polling, webhook hints and batch imports."""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from customers.services import ExternalCustomer, customer_link_upsert
from integrations.models import Connection
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.records import CustomerRecord, customer_record_parse, transaction_record_parse
from payments.models import Transaction
from payments.services.transactions import TransactionSyncResult, transaction_sync_from_record

DEFAULT_TIMEZONE = "America/Los_Angeles"

# Called with each transaction a record created or changed: the "decide" step (risk, ERP postings).
TransactionChanged = Callable[[Transaction], None]


def connection_timezone(connection: Connection) -> ZoneInfo:
    return ZoneInfo(connection.options.get("timezone", DEFAULT_TIMEZONE))


def paytrace_record_ingest(
    *, connection: Connection, client: PayTraceClient, raw: dict, on_change: TransactionChanged | None = None
) -> TransactionSyncResult:
    """Upsert one export record. A refund whose sale we have never seen fetches the sale first, so
    out-of-order arrival still links the two."""
    record = transaction_record_parse(raw, tz=connection_timezone(connection))
    original_id = record.original_transaction_id
    if (
        original_id
        and not Transaction.objects.filter(connection=connection, transaction_id=original_id).exists()
    ):
        original_raw = client.transaction_export_by_id(transaction_id=original_id)
        if original_raw is not None:
            paytrace_record_ingest(
                connection=connection, client=client, raw=original_raw, on_change=on_change
            )
    result = transaction_sync_from_record(connection=connection, record=record)
    if result.changed and on_change is not None:
        on_change(result.transaction)
    return result


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
