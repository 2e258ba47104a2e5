"""ERP net against PayTrace net, per customer and account-local day: the money check finance runs with
`manage.py reconcile_erp` (and a daily schedule).

PayTrace net: the payments PayTrace took (every received status, refunded or not) minus its approved
refunds, from our Transaction mirror, re-read from PayTrace for the days compared (one export per day,
through the same upsert as the sync) unless told not to.

ERP net: the receipts, less the credit notes and reversals, that the ERP holds for those transactions,
in the transactions' currency. The connectors cannot yet list an ERP's documents per customer and day
(that read comes with the invoice sync), so "holds" means: what our outbox posted (with the ERP's
document number) and, when `verify` is on, checked by looking every document ever sent up in the ERP by
our reference. So a receipt the ERP has but the outbox gave up on (applied, the answer lost, then
cancelled) counts, and one the outbox believes posted but the ERP lacks does not. Documents typed into
the ERP by hand, without our reference, are not seen until that listing exists.

Each customer-day whose nets differ opens (or updates) one ReconciliationException listing every
transaction and document behind it; one whose nets agree again is resolved."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction as db_transaction
from django.utils import timezone

from integrations.claims import Budget
from integrations.models import Connection, ErpPosting, System
from integrations.paytrace.client import PayTraceClient
from integrations.sage.connector import ErpConnector
from integrations.sage.registry import connector_for
from integrations.selectors import connection_timezone, connections_active
from payments.models import ZERO, Allocation, ReconciliationException, Transaction
from payments.selectors.erp_reconciliation import net_documents, net_exceptions, net_transactions
from payments.services.paytrace import paytrace_record_ingest
from payments.services.pipeline import transaction_decide
from payments.services.postings import reversal_reference_parse
from portal.lifecycle import status_transition

DocumentType = ErpPosting.DocumentType
Kind = ReconciliationException.Kind
ExceptionStatus = ReconciliationException.Status
REFUNDS_COUNTED = (Transaction.Status.APPROVED, Transaction.Status.SETTLED)
# A document may be in the ERP once a worker has tried to send it.
MAYBE_SENT = (ErpPosting.Status.POSTED, ErpPosting.Status.IN_PROGRESS)


@dataclass
class CustomerDay:
    paytrace_connection: int
    customer: str
    customer_id: int | None
    day: date
    currency: str
    paytrace_net: Decimal = ZERO
    erp_net: Decimal = ZERO
    lines: list[str] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.erp_net - self.paytrace_net

    @property
    def key(self) -> str:
        return f"erp-net:{self.paytrace_connection}:{self.customer_id or 0}:{self.day}:{self.currency}"


@dataclass
class ErpNetSummary:
    connection: str
    compared: int = 0
    differences: list[CustomerDay] = field(default_factory=list)
    opened: int = 0
    resolved: int = 0
    unverified: int = 0  # documents whose ERP look-up failed or ran out of time: the outbox's word taken


def _read_again(*, connection: Connection, days: list[date]) -> None:
    client = PayTraceClient.from_connection(connection)
    for day in days:
        for raw in client.transactions_export_by_date_range(start_date=day, end_date=day):
            paytrace_record_ingest(
                connection=connection, client=client, raw=raw, on_change=transaction_decide
            )


class _ErpView:
    """Whether the ERP holds a document: the outbox's word, or the ERP's own when verifying."""

    def __init__(self, *, verify: bool, budget: Budget | None, summary: ErpNetSummary):
        self.verify, self.budget, self.summary = verify, budget, summary
        self.connectors: dict[int, ErpConnector] = {}

    def holds(self, posting: ErpPosting) -> bool:
        posted = posting.status == ErpPosting.Status.POSTED
        tried = posting.status in MAYBE_SENT or posting.attempt_count > 0
        if not (self.verify and tried):
            return posted
        if self.budget is not None and self.budget.spent():
            self.summary.unverified += 1
            return posted
        try:
            if posting.connection_id not in self.connectors:
                self.connectors[posting.connection_id] = connector_for(posting.connection)
            connector = self.connectors[posting.connection_id]
            found = connector.document_find(document_type=posting.document_type, reference=posting.reference)
        except Exception:  # noqa: BLE001 - an ERP that cannot answer leaves the outbox's word, counted
            self.summary.unverified += 1
            return posted
        return found is not None


def _document_amount(posting: ErpPosting, txn: Transaction) -> Decimal:
    """Signed, in the transaction's currency: a receipt adds, a credit note or reversal takes away."""
    if posting.document_type == DocumentType.RECEIPT:
        return txn.amount
    if posting.document_type == DocumentType.REVERSAL:
        _, allocation_pk = reversal_reference_parse(posting.reference)
        return -(Allocation.objects.get(pk=allocation_pk).amount if allocation_pk else txn.amount)
    return -txn.amount


def _paytrace_amount(txn: Transaction) -> Decimal:
    if txn.transaction_type in Transaction.PAYMENT_TYPES:
        return txn.amount if txn.status in Transaction.RECEIVED_STATUSES else ZERO
    return -txn.amount if txn.status in REFUNDS_COUNTED else ZERO


def _customer_days(
    *, connection: Connection, start: datetime, end: datetime, erp: _ErpView
) -> Iterator[CustomerDay]:
    zone = connection_timezone(connection)
    transactions = net_transactions(connection=connection, start=start, end=end)
    documents: dict[int, list[ErpPosting]] = {}
    for posting in net_documents(transactions=transactions):
        documents.setdefault(posting.transaction_id, []).append(posting)
    groups: dict[tuple, CustomerDay] = {}
    for txn in transactions:
        customer = txn.customer or (txn.original.customer if txn.original else None)
        key = (customer.pk if customer else None, txn.occurred_at.astimezone(zone).date(), txn.currency)
        group = groups.setdefault(
            key,
            CustomerDay(
                paytrace_connection=connection.pk,
                customer=customer.name if customer else "no customer",
                customer_id=key[0],
                day=key[1],
                currency=txn.currency,
            ),
        )
        group.paytrace_net += _paytrace_amount(txn)
        line = f"PayTrace {txn.transaction_id} {txn.transaction_type} {txn.status} {txn.amount}"
        for posting in documents.get(txn.pk, []):
            held = erp.holds(posting)
            if held:
                group.erp_net += _document_amount(posting, txn)
            number = f" no. {posting.erp_document_number}" if posting.erp_document_number else ""
            line += (
                f"; {posting.get_document_type_display()} {posting.reference} in {posting.connection.name}:"
                f" {posting.status}{number}, {'in' if held else 'not in'} the ERP"
            )
        group.lines.append(line)
    yield from groups.values()


def _exception_fields(group: CustomerDay) -> dict:
    heading = (
        f"{group.customer} on {group.day} ({group.currency}): PayTrace net {group.paytrace_net},"
        f" ERP net {group.erp_net}, difference {group.difference}."
    )
    return {
        "currency": group.currency,
        "expected_amount": group.paytrace_net,
        "reported_amount": group.erp_net,
        "difference": group.difference,
        "reason": "\n".join([heading, *group.lines]),
    }


def _exceptions_settle(groups: list[CustomerDay], summary: ErpNetSummary) -> None:
    existing = net_exceptions(keys=[group.key for group in groups])
    for group in groups:
        found = existing.get(group.key)
        if group.difference:
            summary.differences.append(group)
            if found is None:
                ReconciliationException.objects.create(
                    kind=Kind.NET_MISMATCH, dedup_key=group.key, **_exception_fields(group)
                )
                summary.opened += 1
            elif found.status != ExceptionStatus.WRITTEN_OFF:
                summary.opened += found.status == ExceptionStatus.RESOLVED
                status_transition(instance=found, to_status=ExceptionStatus.OPEN, **_exception_fields(group))
        elif found is not None and found.status == ExceptionStatus.OPEN:
            status_transition(
                instance=found,
                to_status=ExceptionStatus.RESOLVED,
                resolved_at=timezone.now(),
                resolution_note="ERP net equals PayTrace net again.",
            )
            summary.resolved += 1


def erp_net_reconcile(
    *,
    connection: Connection,
    first_day: date,
    last_day: date,
    read: bool = True,
    verify: bool = True,
    budget: Budget | None = None,
) -> ErpNetSummary:
    """Compare the account-local days `first_day`..`last_day` of one PayTrace connection."""
    days = [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]
    if read:
        _read_again(connection=connection, days=days)
    zone = connection_timezone(connection)
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    summary = ErpNetSummary(connection=connection.name)
    erp = _ErpView(verify=verify, budget=budget, summary=summary)
    groups = list(_customer_days(connection=connection, start=start, end=end, erp=erp))
    summary.compared = len(groups)
    with db_transaction.atomic():
        _exceptions_settle(groups, summary)
    return summary


def erp_nets_reconcile(
    *,
    days: int,
    until: date | None = None,
    read: bool = True,
    verify: bool = True,
    budget: Budget | None = None,
) -> list[ErpNetSummary]:
    """The last `days` account-local days up to `until` (default today) of every active PayTrace
    connection."""
    summaries = []
    for connection in connections_active(system=System.PAYTRACE):
        last = until or timezone.now().astimezone(connection_timezone(connection)).date()
        summaries.append(
            erp_net_reconcile(
                connection=connection,
                first_day=last - timedelta(days=days - 1),
                last_day=last,
                read=read,
                verify=verify,
                budget=budget,
            )
        )
    return summaries
