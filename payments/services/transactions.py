"""The one upsert every PayTrace path ends in: keyed by transaction id, status only moves forward."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction as db_transaction
from django.db.models import Sum
from django.utils import timezone

from customers.models import CustomerLink
from integrations.models import Connection
from integrations.paytrace.records import TransactionRecord
from payments.models import ZERO, Transaction
from portal.lifecycle import status_transition

Status = Transaction.Status

# How far along its life a transaction is; a record never moves a row back down this scale.
STATUS_RANK = {
    Status.DECLINED: 0,
    Status.AUTHORIZED: 1,
    Status.APPROVED: 2,
    Status.SETTLED: 3,
    Status.PARTIALLY_REFUNDED: 4,
    Status.REFUNDED: 5,
    Status.CHARGED_BACK: 6,
    Status.VOIDED: 7,
}
REFUND_TYPES = Transaction.REFUND_TYPES
# A refund counts against its sale while it stands (approved or settled), not when declined or voided.
STANDING_STATUSES = (Status.APPROVED, Status.SETTLED)

# Record fields that are facts of the payment, refreshed whenever a record is not older than the row.
_FACT_FIELDS = (
    "amount",
    "currency",
    "invoice_reference",
    "description",
    "card_brand",
    "merchant_id",
    "last4",
    "approval_code",
    "avs_response",
    "csc_response",
    "status_message",
    "paytrace_status_code",
    "billing_name",
    "billing_postal_code",
    "billing_country",
    "email",
    "paytrace_customer_id",
    "settled_at",
)


@dataclass(frozen=True)
class TransactionSyncResult:
    transaction: Transaction
    created: bool
    changed: bool


def _record_fields(*, connection: Connection, record: TransactionRecord) -> dict:
    return {
        "transaction_type": record.transaction_type,
        "payment_method": record.payment_method,
        "amount": record.amount,
        "currency": record.currency,
        "invoice_reference": record.invoice_id,
        "description": record.description[:255],
        "card_brand": record.card_brand,
        "merchant_id": record.merchant_id or str(connection.options.get("merchant_id") or ""),
        "last4": record.last4,
        "approval_code": record.approval_code,
        "avs_response": record.avs_response[:60],
        "csc_response": record.csc_response[:60],
        "status_message": record.status_message[:255],
        "paytrace_status_code": record.status_code,
        "billing_name": record.billing_name[:200],
        "billing_postal_code": record.billing_zip[:20],
        "billing_country": record.billing_country[:2],
        "email": record.email,
        "paytrace_customer_id": record.customer_id,
        "ip_address": record.ip or None,
        "settled_at": record.settled_at,
        "occurred_at": record.occurred_at or timezone.now(),
        "raw": record.raw,
    }


def _incoming_status(record: TransactionRecord) -> str:
    # A sale PayTrace reports as "refunded" is worked out from its refund children instead.
    return Status.SETTLED if record.status == "refunded" else record.status


def _links(*, connection: Connection, record: TransactionRecord) -> dict[str, int | None]:
    """Foreign keys the record names by external id: the vault customer and, for a refund, its sale."""
    customer_id = original_id = None
    if record.customer_id:
        customer_id = (
            CustomerLink.objects.filter(connection=connection, external_id=record.customer_id)
            .values_list("customer_id", flat=True)
            .first()
        )
    if record.original_transaction_id:
        original_id = (
            Transaction.objects.filter(connection=connection, transaction_id=record.original_transaction_id)
            .values_list("pk", flat=True)
            .first()
        )
    return {"customer_id": customer_id, "original_id": original_id}


def transaction_sync_from_record(
    *, connection: Connection, record: TransactionRecord
) -> TransactionSyncResult:
    """Create or update the Transaction for `record`. Running it twice with the same record changes
    nothing the second time; an older record (lower status) never overwrites newer state. A creation or
    change sets `decision_pending`, which the decide step clears."""
    fields = _record_fields(connection=connection, record=record)
    links = _links(connection=connection, record=record)
    status = _incoming_status(record)
    with db_transaction.atomic():
        row = (
            Transaction.objects.select_for_update()
            .filter(connection=connection, transaction_id=record.transaction_id)
            .first()
        )
        if row is None:
            try:
                with db_transaction.atomic():
                    row = Transaction.objects.create(
                        connection=connection,
                        transaction_id=record.transaction_id,
                        status=status,
                        synced_at=timezone.now(),
                        decision_pending=True,
                        **fields,
                        **links,
                    )
            except IntegrityError:
                # A concurrent delivery created it first: fall through to the update path.
                row = Transaction.objects.select_for_update().get(
                    connection=connection, transaction_id=record.transaction_id
                )
            else:
                _original_refresh(original_id=row.original_id)
                return TransactionSyncResult(transaction=row, created=True, changed=True)
        changed = _row_update(row=row, status=status, fields=fields, links=links)
        if changed:
            # In the upsert's own transaction: the change and the duty to decide it commit together.
            Transaction.objects.filter(pk=row.pk).update(decision_pending=True)
            row.decision_pending = True
            _original_refresh(original_id=row.original_id)
    return TransactionSyncResult(transaction=row, created=False, changed=changed)


def transactions_create_from_records(
    *, connection: Connection, records: list[TransactionRecord]
) -> list[Transaction]:
    """Create the Transactions of records none of which is stored yet and none of which names a sale (a
    refund goes through `transaction_sync_from_record`, which refreshes its sale): one look-up of the vault
    customers and one insert for them all, each row `decision_pending` as a created row is. Run it inside
    the caller's database transaction; a row someone stored meanwhile makes the insert fail (the unique
    transaction id), and the caller starts again one record at a time."""
    if any(record.original_transaction_id for record in records):
        raise ValueError("a refund is synced with its sale, one record at a time")
    vault_ids = {record.customer_id for record in records if record.customer_id}
    customers = dict(
        CustomerLink.objects.filter(connection=connection, external_id__in=vault_ids).values_list(
            "external_id", "customer_id"
        )
        if vault_ids
        else ()
    )
    now = timezone.now()
    return Transaction.objects.bulk_create(
        Transaction(
            connection=connection,
            transaction_id=record.transaction_id,
            status=_incoming_status(record),
            synced_at=now,
            decision_pending=True,
            customer_id=customers.get(record.customer_id),
            **_record_fields(connection=connection, record=record),
        )
        for record in records
    )


def _row_update(*, row: Transaction, status: str, fields: dict, links: dict) -> bool:
    incoming_rank, current_rank = STATUS_RANK[status], STATUS_RANK[row.status]
    if incoming_rank < current_rank:
        return False  # an older snapshot: what we hold is newer
    updates = {
        name: fields[name] for name in _FACT_FIELDS if fields[name] not in ("", None, getattr(row, name))
    }
    updates.update({name: pk for name, pk in links.items() if pk is not None and getattr(row, name) != pk})
    if updates:
        updates["raw"] = fields["raw"]
        updates["synced_at"] = timezone.now()
        for name, value in updates.items():
            setattr(row, name, value)
        row.save(update_fields=[*updates, "updated_at"])
    moved = status in Transaction.TRANSITIONS[row.status]
    if moved:
        status_transition(instance=row, to_status=status)
    return bool(updates) or moved


def _original_refresh(*, original_id: int | None) -> None:
    """Recompute a sale's refunded amount and status from the refunds that stand against it."""
    if original_id is None:
        return
    original = Transaction.objects.select_for_update().get(pk=original_id)
    refunded = (
        original.children.filter(transaction_type__in=REFUND_TYPES, status__in=STANDING_STATUSES).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    refunded = min(refunded, original.amount)
    if refunded != original.amount_refunded:
        Transaction.objects.filter(pk=original.pk).update(amount_refunded=refunded, updated_at=timezone.now())
        original.amount_refunded = refunded
    if refunded <= ZERO:
        return
    target = Status.REFUNDED if refunded >= original.amount else Status.PARTIALLY_REFUNDED
    if target in Transaction.TRANSITIONS.get(original.status, set()):
        status_transition(instance=original, to_status=target)


def transaction_decision_done(*, transaction: Transaction) -> None:
    """The decide step ran for what the row holds. A change made meanwhile (another status) keeps the flag
    for the decide that change triggers."""
    Transaction.objects.filter(pk=transaction.pk, status=transaction.status).update(decision_pending=False)
    transaction.decision_pending = False
