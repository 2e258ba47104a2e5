"""Posting: claim due outbox rows, call the connector, record every attempt, never post twice.

A row that was tried before is first looked up in the ERP by our reference (the connector's
`document_send`); only if the ERP has no such document is it sent again. Receipts bound for one ERP go
out in batches of the connector's `receipt_batch_size`, so a steady stream costs about one ERP call per
batch."""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, CharField, F, PositiveIntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from integrations.alerts import alert_raise
from integrations.claims import CLAIM_LEASE, Budget, ClaimQueue, rows_claim, rows_drain
from integrations.memo import memo_scope
from integrations.models import ErpPosting, ErpPostingAttempt
from integrations.outbox.dependencies import (
    dependents_hold,
    dependents_release,
    dependents_release_many,
    prerequisite_settled,
)
from integrations.outbox.registry import (
    PostingNotNeeded,
    document_build,
    documents_prepare,
    posting_dead_effects_apply,
    posting_effects_apply,
    posting_refusal_mend,
)
from integrations.retry import backoff_next_attempt_at
from integrations.sage.base import ErpDocument, ErpError, ErpPermanentError, ErpTransientError
from integrations.sage.connector import ErpConnector, chunked
from integrations.sage.mapping import MappingMissing
from integrations.sage.registry import connector_for
from portal.lifecycle import status_transition
from portal.pci import card_numbers_mask

Status = ErpPosting.Status
DocumentType = ErpPosting.DocumentType
Outcome = ErpPostingAttempt.Outcome
CLAIM_BATCH = 200
STALE_CLAIM = CLAIM_LEASE  # a claim not renewed this long was left by a dead worker
# The longest a transient failure waits to be retried while its ERP takes other documents.
ANSWERING_RETRY = timedelta(seconds=15)


@dataclass
class PostSummary:
    posted: int = 0
    found_existing: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    erp_calls: int = 0
    unstarted: list[int] = field(default_factory=list, repr=False)

    def add(self, other: "PostSummary") -> None:
        for name in ("posted", "found_existing", "retried", "dead", "cancelled", "erp_calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _due(now: datetime) -> Q:
    ready = Q(status=Status.PENDING) | Q(status=Status.RETRYABLE, next_attempt_at__lte=now)
    return ready & prerequisite_settled()


def _coming(by: datetime) -> Q:
    retry = Q(status=Status.RETRYABLE, next_attempt_at__lte=by) & prerequisite_settled()
    return retry | Q(status=Status.IN_PROGRESS, claimed_at__lte=by - STALE_CLAIM)


OUTBOX = ClaimQueue(
    model=ErpPosting,
    due=_due,
    claimed_status=Status.IN_PROGRESS,
    released_status=Status.PENDING,
    claimed_at_field="claimed_at",
    order_by=("next_attempt_at", "pk"),
    lease=STALE_CLAIM,
)


def postings_due() -> bool:
    return ErpPosting.objects.filter(_due(timezone.now())).exists()


def _abandoned_count(abandoned: QuerySet) -> None:
    # Still in progress: its worker died mid-post, perhaps after the ERP took the document. That try
    # counts, so the next one looks our reference up before sending anything (and a posting that
    # keeps killing its worker ends as a dead letter instead of looping).
    abandoned.update(attempt_count=F("attempt_count") + 1)


def postings_claim(*, limit: int = CLAIM_BATCH, now: datetime | None = None) -> list[int]:
    return rows_claim(queue=OUTBOX, limit=limit, now=now, on_reclaim=_abandoned_count)


class _Attempt:
    """One try at one posting: times it, keeps the calls it made, and records the outcome."""

    def __init__(self, posting: ErpPosting, connector: ErpConnector, summary: PostSummary):
        self.posting, self.connector, self.summary = posting, connector, summary
        self.number = posting.attempt_count + 1
        self.retried = posting.attempt_count > 0
        self.started_at = timezone.now()
        self.clock = time.monotonic()
        self.calls: list[dict[str, Any]] = []
        self.shared: set[int] = set()  # ids of the calls of the batch it went in, the same for all

    def take_calls(self, shared: list[dict[str, Any]] | None = None) -> None:
        """Keep the calls made for this posting alone, or those of a batch it shared."""
        if shared is None:
            shared = self.connector.transcript_take()
            self.summary.erp_calls += len(shared)
        else:
            self.shared.update(id(call) for call in shared)
        self.calls.extend(shared)

    def record(self, *, outcome: str, error: ErpError | Exception | None = None) -> ErpPostingAttempt:
        attempt = self.row(outcome=outcome, error=error)
        attempt.save(force_insert=True)
        return attempt

    def row(
        self, *, outcome: str, error: ErpError | Exception | None = None, batch_recorded_on: str = ""
    ) -> ErpPostingAttempt:
        """The attempt's row, unsaved (a batch's rows are inserted together). Its calls are its own and
        its batch's; with `batch_recorded_on`, the batch's calls are left to the attempt of that posting
        (our reference), which records them once for the whole batch: copied into each of 20-50 rows,
        they made the attempts of a batch grow with its square."""
        code = getattr(error, "code", "") or (
            type(error).__name__ if error and not isinstance(error, ErpError) else ""
        )
        calls = [c for c in self.calls if id(c) not in self.shared] if batch_recorded_on else self.calls
        request: dict[str, Any] = {"calls": [{k: v for k, v in c.items() if k != "response"} for c in calls]}
        if batch_recorded_on:
            request["batch_calls_recorded_on"] = batch_recorded_on
        return ErpPostingAttempt(
            posting=self.posting,
            number=self.number,
            started_at=self.started_at,
            duration_ms=int((time.monotonic() - self.clock) * 1000),
            outcome=outcome,
            error_code=str(code)[:60],
            error_message=card_numbers_mask(str(error)) if error else "",
            request=request,
            response={"calls": [{"status": c.get("status"), "body": c.get("response")} for c in calls]},
        )


def _posted(attempt: _Attempt, document: ErpDocument, *, found: bool, summary: PostSummary) -> None:
    posting = attempt.posting
    with transaction.atomic():
        attempt.record(outcome=Outcome.FOUND_EXISTING if found else Outcome.POSTED)
        status_transition(
            instance=posting,
            to_status=Status.POSTED,
            erp_document_number=document.number,
            posted_at=timezone.now(),
            attempt_count=attempt.number,
            last_error="",
            last_error_code="",
            next_attempt_at=None,
        )
        posting_effects_apply(posting=posting, document=document)
        dependents_release(posting=posting)
    if found:
        summary.found_existing += 1
    else:
        summary.posted += 1


class _BatchStale(Exception):
    """A posting of the batch is no longer ours: the batch's outcome is recorded one posting at a time."""


_OUTCOME_FIELDS = (
    "status",
    "erp_document_number",
    "attempt_count",
    "posted_at",
    "last_error",
    "last_error_code",
    "next_attempt_at",
    "updated_at",
)


def _posted_batch(posted: list[tuple[_Attempt, ErpDocument]], summary: PostSummary) -> None:
    """What `_posted` does for each receipt the ERP took in one batch, in a handful of statements: the
    attempts inserted together, the postings moved to posted by one conditional UPDATE (all of them still
    in progress, or none is moved), their dependents released together. Anything unexpected, and the
    batch's outcome is recorded one posting at a time instead, with the same effect."""
    if len(posted) < 2:
        for attempt, document in posted:
            _posted(attempt, document, found=False, summary=summary)
        return
    now = timezone.now()
    postings = [attempt.posting for attempt, _ in posted]
    changes = {
        "status": Status.POSTED,
        "erp_document_number": Case(
            *[When(pk=attempt.posting.pk, then=Value(document.number)) for attempt, document in posted],
            output_field=CharField(),
        ),
        "attempt_count": Case(
            *[When(pk=attempt.posting.pk, then=Value(attempt.number)) for attempt, _ in posted],
            output_field=PositiveIntegerField(),
        ),
        "posted_at": now,
        "last_error": "",
        "last_error_code": "",
        "next_attempt_at": None,
        "updated_at": now,
    }
    # As read when claimed: what the one-by-one path starts from if the batch's writes are rolled back.
    snapshots = [{name: getattr(posting, name) for name in _OUTCOME_FIELDS} for posting in postings]
    try:
        with transaction.atomic():
            first = posted[0][0]
            ErpPostingAttempt.objects.bulk_create(
                [first.row(outcome=Outcome.POSTED)]
                + [
                    attempt.row(outcome=Outcome.POSTED, batch_recorded_on=first.posting.reference)
                    for attempt, _ in posted[1:]
                ]
            )
            moved = ErpPosting.objects.filter(
                pk__in=[posting.pk for posting in postings], status=Status.IN_PROGRESS
            ).update(**changes)
            if moved != len(postings):
                raise _BatchStale(f"{len(postings) - moved} of the batch's postings are no longer ours")
            for (attempt, document), posting in zip(posted, postings, strict=True):
                posting.status, posting.erp_document_number = Status.POSTED, document.number
                posting.attempt_count, posting.posted_at, posting.updated_at = attempt.number, now, now
                posting.last_error = posting.last_error_code = ""
                posting.next_attempt_at = None
                posting_effects_apply(posting=posting, document=document)
            dependents_release_many(postings=postings)
    except Exception:  # noqa: BLE001 - rolled back whole; each posting's own path decides what stands
        for posting, before in zip(postings, snapshots, strict=True):
            for name, value in before.items():
                setattr(posting, name, value)
        for attempt, document in posted:
            _posted(attempt, document, found=False, summary=summary)
        return
    summary.posted += len(posted)


def _failed(attempt: _Attempt, error: Exception, summary: PostSummary) -> None:
    posting = attempt.posting
    code = getattr(error, "code", "") or type(error).__name__
    # An ErpError's text already starts with its "[code]"; anything else is named by its type, once.
    message = card_numbers_mask(str(error) if isinstance(error, ErpError) else f"[{code}] {error}")[:4000]
    permanent = isinstance(error, ErpPermanentError)
    crashed = not isinstance(error, ErpError)
    exhausted = attempt.number >= posting.max_attempts
    # A missing mapping is our own refusal, made before the ERP was asked: nothing there to read again.
    mended = permanent and not exhausted and not isinstance(error, MappingMissing) and _mended(attempt, error)
    if mended:
        message = f"{message} (mended: sent again)"[:4000]
    with transaction.atomic():
        attempt.record(
            outcome=Outcome.PERMANENT if permanent else Outcome.CRASHED if crashed else Outcome.TRANSIENT,
            error=error,
        )
        fields = {"attempt_count": attempt.number, "last_error": message, "last_error_code": str(code)[:60]}
        if (permanent and not mended) or exhausted:
            status_transition(instance=posting, to_status=Status.DEAD, next_attempt_at=None, **fields)
            posting_dead_effects_apply(posting=posting)
            dependents_hold(posting=posting)
            why = "refused by the ERP" if permanent else f"failed {attempt.number} times"
            alert_raise(
                title=f"{posting.get_document_type_display()} {posting.reference} is a dead letter ({why})",
                message=f"{posting.connection.name}: {message}",
                subject=posting,
            )
            summary.dead += 1
            return
        status_transition(
            instance=posting,
            to_status=Status.RETRYABLE,
            next_attempt_at=timezone.now() if mended else backoff_next_attempt_at(attempt=attempt.number),
            **fields,
        )
        if crashed:
            alert_raise(
                title=f"Unexpected error posting {posting.reference}", message=message, subject=posting
            )
    summary.retried += 1


def _mended(attempt: _Attempt, error: Exception) -> bool:
    """A refusal the posting's owner can mend (its calls to look are this attempt's) is retried at once."""
    try:
        return posting_refusal_mend(posting=attempt.posting, connector=attempt.connector, error=error)
    except ErpError:
        return False  # the ERP cannot be read now: the refusal stands
    finally:
        attempt.take_calls()


def _not_needed(attempt: _Attempt, reason: PostingNotNeeded, summary: PostSummary) -> None:
    with transaction.atomic():
        attempt.record(outcome=Outcome.POSTED, error=reason)
        status_transition(
            instance=attempt.posting,
            to_status=Status.CANCELLED,
            attempt_count=attempt.number,
            last_error=str(reason),
        )
        dependents_release(posting=attempt.posting)
    summary.cancelled += 1


def _post_single(posting: ErpPosting, connector: ErpConnector, summary: PostSummary) -> None:
    attempt = _Attempt(posting, connector, summary)
    try:
        sent = connector.document_send(
            document_type=posting.document_type,
            reference=posting.reference,
            build=lambda: document_build(posting=posting, connector=connector),
            retried=attempt.retried,
        )
        attempt.take_calls()
        _posted(attempt, sent.document, found=sent.found_existing, summary=summary)
    except PostingNotNeeded as reason:
        attempt.take_calls()
        _not_needed(attempt, reason, summary)
    except Exception as error:  # noqa: BLE001 - recorded on the posting; retried, or dead with an alert
        attempt.take_calls()
        _failed(attempt, error, summary)


def _post_receipts(postings: list[ErpPosting], connector: ErpConnector, summary: PostSummary) -> None:
    """Look up retried receipts, build the rest, and send them in batches."""
    documents_prepare(document_type=DocumentType.RECEIPT, postings=postings)
    ready: list[tuple[_Attempt, Any]] = []
    for posting in postings:
        attempt = _Attempt(posting, connector, summary)
        try:
            existing = connector.document_find_before_retry(
                document_type=posting.document_type, reference=posting.reference, retried=attempt.retried
            )
            if existing is not None:
                attempt.take_calls()
                _posted(attempt, existing, found=True, summary=summary)
                continue
            ready.append((attempt, document_build(posting=posting, connector=connector)))
            attempt.take_calls()
        except PostingNotNeeded as reason:
            attempt.take_calls()
            _not_needed(attempt, reason, summary)
        except Exception as error:  # noqa: BLE001 - recorded on the posting
            attempt.take_calls()
            _failed(attempt, error, summary)
    for batch in chunked(items=ready, size=connector.receipt_batch_size):
        _send_receipt_batch(batch, connector, summary)


def _send_receipt_batch(
    batch: list[tuple[_Attempt, Any]], connector: ErpConnector, summary: PostSummary
) -> None:
    try:
        results = connector.receipts_post(receipts=[receipt for _, receipt in batch])
    except Exception as error:  # noqa: BLE001 - the whole batch failed: every receipt in it is retried
        calls = connector.transcript_take()
        summary.erp_calls += len(calls)
        for attempt, _ in batch:
            attempt.take_calls(calls)
            _failed(attempt, error, summary)
        return
    calls = connector.transcript_take()
    summary.erp_calls += len(calls)
    by_reference = {result.reference: result for result in results}
    posted: list[tuple[_Attempt, ErpDocument]] = []
    for attempt, receipt in batch:
        attempt.take_calls(calls)
        result = by_reference.get(receipt.reference)
        if result is not None and result.document is not None:
            posted.append((attempt, result.document))
        else:
            error = (
                result.error
                if result is not None
                else ErpTransientError("the ERP did not answer for this receipt")
            )
            _failed(attempt, error, summary)
    _posted_batch(posted, summary)


def _work_units(postings: list[ErpPosting], connectors: dict[int, ErpConnector]) -> list[list[ErpPosting]]:
    """What one budget check covers, grouped by connection: a batch of receipts (one ERP call, plus a
    look-up for each that was tried before), or one other posting. Fills `connectors`, one per connection."""
    by_connection: dict[int, list[ErpPosting]] = defaultdict(list)
    for posting in postings:
        by_connection[posting.connection_id].append(posting)
    units: list[list[ErpPosting]] = []
    for connection_id, group in by_connection.items():
        connector = connectors[connection_id] = connector_for(group[0].connection)
        receipts = [p for p in group if p.document_type == DocumentType.RECEIPT]
        size = max(1, connector.receipt_batch_size)
        units += [receipts[start : start + size] for start in range(0, len(receipts), size)]
        units += [[p] for p in group if p.document_type != DocumentType.RECEIPT]
    return units


def postings_post(*, posting_ids: list[int], budget: Budget | None = None) -> PostSummary:
    """Post claimed rows, grouped by connection, receipts batched. With a `budget`, each unit of work
    starts only while it lasts; the ids left unstarted are in `summary.unstarted`."""
    summary = PostSummary()
    postings = list(
        ErpPosting.objects.filter(pk__in=posting_ids, status=Status.IN_PROGRESS)
        .select_related(
            "connection", "transaction", "transaction__customer", "credit_memo", "journal_entry", "depends_on"
        )
        .order_by("pk")
    )
    connectors: dict[int, ErpConnector] = {}
    units = _work_units(postings, connectors)
    with memo_scope():  # mapping rows and customer links read once for the claimed rows
        _units_post(units, connectors, budget, summary)
    return summary


def _units_post(
    units: list[list[ErpPosting]],
    connectors: dict[int, ErpConnector],
    budget: Budget | None,
    summary: PostSummary,
) -> None:
    answering: set[int] = set()
    for index, unit in enumerate(units):
        if budget is not None and budget.spent():
            summary.unstarted = [posting.pk for rest in units[index:] for posting in rest]
            break
        connector = connectors[unit[0].connection_id]
        took = summary.posted + summary.found_existing
        if unit[0].document_type == DocumentType.RECEIPT:
            _post_receipts(unit, connector, summary)
        else:
            _post_single(unit[0], connector, summary)
        if summary.posted + summary.found_existing > took and unit[0].connection_id not in answering:
            answering.add(unit[0].connection_id)
            retries_hasten(connection_id=unit[0].connection_id)


def retries_hasten(*, connection_id: int) -> int:
    """The ERP behind `connection_id` just took a document: it is up, so what waits to retry there after a
    transient failure is tried again within ANSWERING_RETRY (backoff's longer steps are for an ERP that is
    down, which takes nothing). Returns how many retries were brought forward."""
    soon = timezone.now() + ANSWERING_RETRY
    return ErpPosting.objects.filter(
        connection_id=connection_id, status=Status.RETRYABLE, next_attempt_at__gt=soon
    ).update(next_attempt_at=soon, updated_at=timezone.now())


def postings_post_due(
    *, time_budget_seconds: float = 60.0, limit: int = CLAIM_BATCH, wait_for_coming: bool = False
) -> PostSummary:
    """Post what is due until nothing is or the budget is spent; with `wait_for_coming`, also what falls
    due within the budget (retries, abandoned claims), as they do."""
    total = PostSummary()

    def process(ids: list[int], budget: Budget) -> list[int]:
        summary = postings_post(posting_ids=ids, budget=budget)
        total.add(summary)
        return summary.unstarted

    rows_drain(
        queue=OUTBOX,
        claim=lambda now: postings_claim(limit=limit, now=now),
        process=process,
        time_budget_seconds=time_budget_seconds,
        coming=_coming if wait_for_coming else None,
    )
    return total
