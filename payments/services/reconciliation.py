"""Settlement reconciliation: each imported batch against the portal's transactions and their ERP
documents, its reported totals against ours, fees against the GL rules; the fee and net deposit journal
entries; every difference as a ReconciliationException.

Every batch pending is read with three grouped or anti-joined queries and written with bulk inserts, so
a million settled transactions cost a few dozen queries. Exceptions carry a `dedup_key`: running again
adds nothing, and an open "missing in the ERP" closes by itself once its document is posted. A
batch-level difference within the ERP's `reconciliation_tolerance` (a FieldDefault) is written off to
the GL rule `write_off` account; anything larger stays open for finance."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection as db_connection, transaction as db_transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations.models import Connection, ErpPosting, System
from integrations.sage.mapping import MappingMissing, field_defaults_get, gl_rule_get
from integrations.selectors import connections_active
from payments.models import ZERO, JournalEntry, ReconciliationException, SettlementBatch
from payments.selectors.reconciliation import (
    batch_brand_totals,
    batch_duplicate_charges,
    batch_transactions_unposted,
    batches_to_reconcile,
    exceptions_open_missing_in_erp,
    sales_posted_never_settled,
)
from payments.services.journal import JournalDraft, balancing_lines, journal_entries_plan
from payments.services.postings import REFUND_TYPES, erp_connection_for_paytrace
from payments.services.settlement import settlement_batches_import
from portal.lifecycle import status_transition, transition_allowed
from portal.money import money_quantize

Kind = ReconciliationException.Kind
ExceptionStatus = ReconciliationException.Status
BatchStatus = SettlementBatch.Status
CHUNK_BATCHES = 200
IMPORT_DAYS = 7
SORT_MEMORY = "256MB"
HUNDRED = Decimal("100")
# A FieldDefault under a document type of its own, so no ERP document carries it as a field.
TOLERANCE_SCOPE, TOLERANCE_FIELD = "reconciliation", "reconciliation_tolerance"
# A sale still unsettled this long after a later batch closed is missing from the batches.
SETTLEMENT_GRACE = timedelta(days=1)
IN_FLIGHT = (ErpPosting.Status.PENDING, ErpPosting.Status.IN_PROGRESS, ErpPosting.Status.RETRYABLE)
# Batch-level differences a tolerance may absorb, and the way each leaves the clearing account unbalanced.
WRITE_OFF_KINDS = (Kind.FEE_MISMATCH, Kind.TOTAL_MISMATCH)

Progress = Callable[[int, int], None]


@dataclass
class ReconcileSummary:
    batches: int = 0
    transactions: int = 0
    reconciled: int = 0
    with_exceptions: int = 0
    awaiting_erp: int = 0
    exceptions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    written_off: int = 0
    resolved: int = 0
    journal_entries: int = 0

    def as_rows(self) -> list[tuple[str, int]]:
        rows = [
            ("batches", self.batches),
            ("transactions", self.transactions),
            ("reconciled", self.reconciled),
            ("with exceptions", self.with_exceptions),
            ("awaiting the ERP", self.awaiting_erp),
            ("journal entries planned", self.journal_entries),
            ("written off within tolerance", self.written_off),
            ("exceptions closed (now posted)", self.resolved),
        ]
        return rows + [(f"new exception: {kind}", count) for kind, count in sorted(self.exceptions.items())]


@dataclass(frozen=True)
class _Accounts:
    """The ERP's reading of the GL rules and tolerance, looked up once per run."""

    erp: Connection
    tolerance: Decimal
    cache: dict = field(default_factory=dict, compare=False)

    def rule(self, *, purpose: str, merchant_id: str = "", card_brand: str = ""):
        key = (purpose, merchant_id, card_brand)
        if key not in self.cache:
            try:
                self.cache[key] = gl_rule_get(
                    erp=self.erp.system, purpose=purpose, merchant_id=merchant_id, card_brand=card_brand
                )
            except MappingMissing:
                self.cache[key] = None
        return self.cache[key]

    def account(self, purpose: str, **scope: str) -> str:
        rule = self.rule(purpose=purpose, **scope)
        if rule is None:
            raise MappingMissing(f"No GL account rule for {self.erp.system} / purpose '{purpose}'.")
        return rule.account


def reconciliation_tolerance(*, erp: Connection) -> Decimal:
    value = field_defaults_get(erp=erp.system, document_type=TOLERANCE_SCOPE).get(TOLERANCE_FIELD, "")
    return Decimal(value) if value else ZERO


@dataclass
class _BatchFigures:
    batch: SettlementBatch
    currency: str = "USD"
    count: int = 0
    sales: Decimal = ZERO
    refunds: Decimal = ZERO
    fee_lines: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (brand, merchant) -> fee

    @property
    def net(self) -> Decimal:
        return self.sales - self.refunds

    @property
    def expected_fees(self) -> Decimal:
        return sum(self.fee_lines.values(), ZERO)

    @property
    def reported_fees(self) -> Decimal | None:
        """PayTrace's own exports carry no fee; a processor's funding report does (`fee_amount`)."""
        value = self.batch.raw.get("fee_amount")
        return None if value in (None, "") else Decimal(str(value))

    @property
    def deposit(self) -> Decimal:
        fees = self.reported_fees if self.reported_fees is not None else self.expected_fees
        return self.batch.net_amount - fees


def _fee_add(
    figure: "_BatchFigures", accounts: "_Accounts", *, brand: str, merchant: str, amount: Decimal, count: int
) -> None:
    rule = accounts.rule(purpose="fees", merchant_id=merchant, card_brand=brand)
    if rule is not None:
        fee = amount * rule.fee_percent / HUNDRED + rule.fee_fixed * count
        figure.fee_lines[(brand, merchant)] = figure.fee_lines.get((brand, merchant), ZERO) + fee


def _fees_from_batch_brands(figure: "_BatchFigures", accounts: "_Accounts") -> None:
    """PayTrace's export shows a card's brand only with its BIN; when the listed transactions carry no
    brand, the batch's own per-brand sales totals say what the processor priced."""
    brands = figure.batch.raw.get("brands") or {}
    if not brands or any(brand for brand, _ in figure.fee_lines):
        return
    figure.fee_lines = {}
    for brand, totals in brands.items():
        amount, count = Decimal(str(totals.get("sales_amount") or 0)), int(totals.get("sales_count") or 0)
        _fee_add(figure, accounts, brand=brand.upper(), merchant="", amount=amount, count=count)


def _figures(*, pending: QuerySet[SettlementBatch], accounts: _Accounts) -> dict[int, _BatchFigures]:
    figures = {batch.pk: _BatchFigures(batch=batch, currency=batch.currency) for batch in pending}
    for row in batch_brand_totals(batches=pending):
        figure = figures[row["settlement_batch_id"]]
        figure.count += row["count"]
        figure.currency = row["currency"]
        if row["transaction_type"] in REFUND_TYPES:
            figure.refunds += row["amount"]
            continue
        figure.sales += row["amount"]
        _fee_add(
            figure,
            accounts,
            brand=row["card_brand"],
            merchant=row["merchant_id"],
            amount=row["amount"],
            count=row["count"],
        )
    for figure in figures.values():
        _fees_from_batch_brands(figure, accounts)
        figure.fee_lines = {
            key: money_quantize(fee, figure.currency) for key, fee in figure.fee_lines.items() if fee
        }
    return figures


def _exception(
    *, kind: str, key: str, reason: str, currency: str = "USD", **fields
) -> ReconciliationException:
    return ReconciliationException(kind=kind, dedup_key=key[:120], reason=reason, currency=currency, **fields)


def _batch_difference(
    figure: _BatchFigures, *, kind: str, key: str, expected: Decimal, reported: Decimal, reason: str
) -> ReconciliationException:
    return _exception(
        kind=kind,
        key=f"{key}-{figure.batch.pk}",
        settlement_batch=figure.batch,
        currency=figure.currency,
        expected_amount=expected,
        reported_amount=reported,
        difference=reported - expected,
        reason=f"Batch {figure.batch.batch_number}: {reason}",
    )


def _batch_exceptions(figure: _BatchFigures) -> list[ReconciliationException]:
    batch, found = figure.batch, []
    reported = (batch.sales_amount, batch.refund_amount, batch.transaction_count)
    if reported != (figure.sales, figure.refunds, figure.count):
        found.append(
            _batch_difference(
                figure,
                kind=Kind.TOTAL_MISMATCH,
                key="total",
                expected=figure.net,
                reported=batch.net_amount,
                reason=f"PayTrace reports {batch.transaction_count} transactions, sales {batch.sales_amount},"
                f" refunds {batch.refund_amount}; its listed transactions add up to {figure.count},"
                f" {figure.sales} and {figure.refunds}.",
            )
        )
    fees = figure.reported_fees
    if fees is not None and fees != figure.expected_fees:
        rules = ", ".join(
            f"{brand or 'any brand'} {fee}" for (brand, _), fee in sorted(figure.fee_lines.items())
        )
        found.append(
            _batch_difference(
                figure,
                kind=Kind.FEE_MISMATCH,
                key="fee",
                expected=figure.expected_fees,
                reported=fees,
                reason=f"the processor charged {fees} in fees; the GL fee rules give {figure.expected_fees}"
                f" ({rules or 'no fee rule matched'}).",
            )
        )
    return found


def _unposted_exceptions(rows: list[dict]) -> tuple[list[ReconciliationException], set[int]]:
    """Transactions with no posted ERP document: in flight (wait), or missing (an exception)."""
    found, waiting = [], set()
    for row in rows:
        status = row["posting_status"]
        if status in IN_FLIGHT:
            waiting.add(row["settlement_batch_id"])
            continue
        why = {
            None: "no ERP document was ever planned for it",
            ErpPosting.Status.DEAD: f"its posting is a dead letter: {row['posting_error'][:300]}",
            ErpPosting.Status.HELD: "its posting is held for review",
            ErpPosting.Status.CANCELLED: "its posting was cancelled",
        }.get(status, f"its posting is {status}")
        found.append(
            _exception(
                kind=Kind.MISSING_IN_ERP,
                key=f"missing-erp-{row['pk']}",
                settlement_batch_id=row["settlement_batch_id"],
                transaction_id=row["pk"],
                currency=row["currency"],
                expected_amount=row["amount"],
                difference=row["amount"],
                reason=f"PayTrace settled {row['transaction_id']} ({row['amount']}) but {why}.",
            )
        )
    return found, waiting


def _duplicate_exceptions(rows: list[dict]) -> list[ReconciliationException]:
    return [
        _exception(
            kind=Kind.DUPLICATE,
            key=f"dup-charge-{row['settlement_batch_id']}-{row['first']}",
            settlement_batch_id=row["settlement_batch_id"],
            transaction_id=row["last"],
            currency=row["currency"],
            expected_amount=row["amount"],
            reported_amount=row["amount"] * row["count"],
            difference=row["amount"] * (row["count"] - 1),
            reason=(
                f"{row['count']} sales of {row['amount']} on card …{row['last4']} for invoice"
                f" {row['invoice_reference']} settled in the same batch: a double charge?"
            ),
        )
        for row in rows
    ]


def _journal_drafts(*, figure: _BatchFigures, accounts: _Accounts) -> list[JournalDraft]:
    batch, erp = figure.batch, accounts.erp
    common = {
        "erp_connection": erp,
        "entry_date": timezone.localtime(batch.settled_at).date(),
        "currency": figure.currency,
        "settlement_batch": batch,
    }
    suffix = f"{batch.connection_id}-{batch.batch_number}"
    clearing = accounts.account("clearing")
    fee_lines = [
        line
        for (brand, merchant), fee in sorted(figure.fee_lines.items())
        for line in balancing_lines(
            amount=fee,
            debit_account=accounts.account("fees", merchant_id=merchant, card_brand=brand),
            credit_account=clearing,
            description=f"Fees {brand or 'card'} batch {batch.batch_number}",
        )
    ]
    deposit = f"Net deposit of batch {batch.batch_number}"
    return [
        JournalDraft(
            kind=JournalEntry.Kind.FEES,
            reference=f"FEES-{suffix}",
            description=f"Processing fees, batch {batch.batch_number}",
            lines=tuple(fee_lines),
            **common,
        ),
        JournalDraft(
            kind=JournalEntry.Kind.NET_DEPOSIT,
            reference=f"DEP-{suffix}",
            description=deposit,
            lines=balancing_lines(
                amount=figure.deposit,
                debit_account=accounts.account("cash"),
                credit_account=clearing,
                description=deposit,
            )
            if figure.deposit
            else (),
            **common,
        ),
    ]


def write_off_draft(
    *, exception: ReconciliationException, accounts_erp: Connection, account: str, clearing: str
) -> JournalDraft:
    """Book a difference to the write-off account. A positive `difference` left in clearing (fees charged
    above the rules) is expensed; a batch reporting more than its transactions is the other way round."""
    amount = -exception.difference if exception.kind == Kind.TOTAL_MISMATCH else exception.difference
    description = f"Write-off: {exception.get_kind_display()}"
    return JournalDraft(
        kind=JournalEntry.Kind.WRITE_OFF,
        reference=f"WO-{exception.dedup_key}"[:60],
        erp_connection=accounts_erp,
        entry_date=timezone.localdate(),
        currency=exception.currency,
        description=description,
        lines=balancing_lines(
            amount=amount, debit_account=account, credit_account=clearing, description=description
        ),
        settlement_batch=exception.settlement_batch,
        transaction=exception.transaction,
    )


def _within_tolerance(exception: ReconciliationException, tolerance: Decimal) -> bool:
    return exception.kind in WRITE_OFF_KINDS and ZERO < abs(exception.difference) <= tolerance


def _exceptions_store(
    *, found: list[ReconciliationException], accounts: _Accounts, summary: ReconcileSummary
) -> list[ReconciliationException]:
    """Insert what is new (dedup_key), writing off at once what the tolerance covers."""
    known = set(
        ReconciliationException.objects.filter(dedup_key__in=[e.dedup_key for e in found]).values_list(
            "dedup_key", flat=True
        )
    )
    new = [exception for exception in found if exception.dedup_key not in known]
    small = [exception for exception in new if _within_tolerance(exception, accounts.tolerance)]
    if small:
        account, clearing = accounts.account("write_off"), accounts.account("clearing")
        entries = journal_entries_plan(
            drafts=[
                write_off_draft(exception=e, accounts_erp=accounts.erp, account=account, clearing=clearing)
                for e in small
            ]
        )
        for exception in small:
            exception.status = ExceptionStatus.WRITTEN_OFF
            exception.journal_entry = entries[f"WO-{exception.dedup_key}"[:60]]
            exception.write_off_account = account
            exception.resolved_at = timezone.now()
            exception.resolution_note = f"Within the tolerance of {accounts.tolerance}: written off."
        summary.written_off += len(small)
    ReconciliationException.objects.bulk_create(new, ignore_conflicts=True)
    for exception in new:
        if exception.status == ExceptionStatus.OPEN:
            summary.exceptions[exception.kind] += 1
    return new


def _batch_statuses_update(
    *,
    figures: dict[int, _BatchFigures],
    waiting: set[int],
    summary: ReconcileSummary,
) -> None:
    open_batches = set(
        ReconciliationException.objects.filter(
            settlement_batch_id__in=list(figures), status=ExceptionStatus.OPEN
        ).values_list("settlement_batch_id", flat=True)
    )
    now = timezone.now()
    for figure in figures.values():
        figure.batch.fee_amount = (
            figure.reported_fees if figure.reported_fees is not None else figure.expected_fees
        )
        figure.batch.deposit_amount = figure.deposit
    _batch_amounts_write(batches=[figure.batch for figure in figures.values()])
    targets: dict[str, list[int]] = defaultdict(list)
    for pk in figures:
        if pk in open_batches:
            targets[BatchStatus.EXCEPTIONS].append(pk)
            summary.with_exceptions += 1
        elif pk in waiting:
            targets[BatchStatus.IMPORTED].append(pk)
            summary.awaiting_erp += 1
        else:
            targets[BatchStatus.RECONCILED].append(pk)
            summary.reconciled += 1
    for target, pks in targets.items():
        _batches_transition(pks=pks, to_status=target, now=now)


def _batch_amounts_write(*, batches: list[SettlementBatch]) -> None:
    """Every batch's fee and deposit in one statement. On PostgreSQL the values travel as three arrays
    joined by position (`unnest`): `bulk_update` would build a CASE branch per batch and field, which
    costs seconds of Python for a few thousand batches."""
    if db_connection.vendor != "postgresql":
        SettlementBatch.objects.bulk_update(batches, ["fee_amount", "deposit_amount"], batch_size=1000)
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_settlementbatch AS batch"
            " SET fee_amount = figures.fee, deposit_amount = figures.deposit"
            " FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS figures(id, fee, deposit)"
            " WHERE batch.id = figures.id",
            [
                [batch.pk for batch in batches],
                [batch.fee_amount for batch in batches],
                [batch.deposit_amount for batch in batches],
            ],
        )


def _batches_transition(*, pks: list[int], to_status: str, now: datetime) -> None:
    """`status_transition` for many batches at once: one conditional UPDATE per allowed origin, so the
    declared TRANSITIONS still hold (a row in any other status is left alone), at a cost that does not
    grow by a query per batch."""
    extra = {"reconciled_at": now} if to_status == BatchStatus.RECONCILED else {}
    origins = [
        origin
        for origin in SettlementBatch.TRANSITIONS
        if transition_allowed(model=SettlementBatch, from_status=origin, to_status=to_status)
    ]
    SettlementBatch.objects.filter(pk__in=pks, status__in=origins).update(
        status=to_status, updated_at=now, **extra
    )


def _sort_memory_raise() -> None:
    """The grouped reads sort or hash every settled row once; on PostgreSQL let them do it in memory for
    this transaction instead of spilling to disk (the default work_mem is 4 MB)."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")


def _pending_reconcile(
    *,
    pending: QuerySet[SettlementBatch],
    accounts: _Accounts,
    summary: ReconcileSummary,
    progress: Progress | None,
    chunk: int,
) -> None:
    with db_transaction.atomic():
        _sort_memory_raise()
        figures = _figures(pending=pending, accounts=accounts)
        unposted, waiting = _unposted_exceptions(
            batch_transactions_unposted(batches=pending, erp=accounts.erp)
        )
        found = unposted + _duplicate_exceptions(batch_duplicate_charges(batches=pending))
        for figure in figures.values():
            found += _batch_exceptions(figure)
        ordered = list(figures.values())
        _exceptions_store(found=found, accounts=accounts, summary=summary)
        for start in range(0, len(ordered), chunk):
            drafts = [
                draft
                for figure in ordered[start : start + chunk]
                for draft in _journal_drafts(figure=figure, accounts=accounts)
            ]
            before = JournalEntry.objects.filter(reference__in=[d.reference for d in drafts]).count()
            summary.journal_entries += len(journal_entries_plan(drafts=drafts)) - before
            if progress:
                progress(min(start + chunk, len(ordered)), len(ordered))
        _batch_statuses_update(figures=figures, waiting=waiting, summary=summary)
    summary.batches += len(ordered)
    summary.transactions += sum(figure.count for figure in ordered)


def _stale_resolve(*, accounts: _Accounts, summary: ReconcileSummary) -> None:
    for exception in exceptions_open_missing_in_erp(erp=accounts.erp):
        status_transition(
            instance=exception,
            to_status=ExceptionStatus.RESOLVED,
            resolved_at=timezone.now(),
            resolution_note="Posted to the ERP since: closed by reconciliation.",
        )
        summary.resolved += 1


def _never_settled(*, connection: Connection, accounts: _Accounts, summary: ReconcileSummary) -> None:
    latest = SettlementBatch.objects.filter(connection=connection).order_by("-settled_at").first()
    if latest is None:
        return
    rows = sales_posted_never_settled(
        connection=connection, erp=accounts.erp, before=latest.settled_at - SETTLEMENT_GRACE
    )
    found = [
        _exception(
            kind=Kind.MISSING_FROM_BATCH,
            key=f"missing-batch-{row['pk']}",
            transaction_id=row["pk"],
            currency=row["currency"],
            expected_amount=row["amount"],
            difference=-row["amount"],
            reason=(
                f"The ERP has a receipt for {row['transaction_id']} ({row['amount']}) but no batch up to"
                f" {latest.batch_number} settled it."
            ),
        )
        for row in rows
    ]
    _exceptions_store(found=found, accounts=accounts, summary=summary)


def settlement_batches_reconcile(
    *, connection: Connection, progress: Progress | None = None, chunk: int = CHUNK_BATCHES
) -> ReconcileSummary:
    """Reconcile every batch of `connection` not yet reconciled (including ones left with exceptions)."""
    erp = erp_connection_for_paytrace(connection=connection)
    accounts = _Accounts(erp=erp, tolerance=reconciliation_tolerance(erp=erp))
    summary = ReconcileSummary()
    _stale_resolve(accounts=accounts, summary=summary)
    _pending_reconcile(
        pending=batches_to_reconcile(connection=connection),
        accounts=accounts,
        summary=summary,
        progress=progress,
        chunk=chunk,
    )
    _never_settled(connection=connection, accounts=accounts, summary=summary)
    return summary


def settlements_reconcile(
    *, days: int = IMPORT_DAYS, import_batches: bool = True, progress: Progress | None = None
) -> dict[str, ReconcileSummary]:
    """For each active PayTrace connection: import the batches of the last `days`, then reconcile."""
    from payments.services.pipeline import transaction_decide

    summaries = {}
    today = timezone.localdate()
    for connection in connections_active(system=System.PAYTRACE):
        if import_batches:
            settlement_batches_import(
                connection=connection,
                start_date=today - timedelta(days=days),
                end_date=today,
                on_change=transaction_decide,
            )
        summaries[connection.name] = settlement_batches_reconcile(connection=connection, progress=progress)
    return summaries
