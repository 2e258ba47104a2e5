"""Actions on the outbox: replay a dead letter, release a held posting, cancel one, and wake the poster
when something becomes due."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from integrations.audit import audit_record
from integrations.models import ErpPosting
from integrations.outbox.dependencies import dependents_release
from portal.lifecycle import status_transition
from portal.queue import task_wake

Status = ErpPosting.Status
DEFAULT_MAX_ATTEMPTS = ErpPosting._meta.get_field("max_attempts").default
POSTER_TASK = "integrations.tasks.postings_post"


def postings_wake() -> None:
    """Something became due: ask for a poster run once this transaction commits, instead of waiting for
    the one-minute schedule (wake-ups are coalesced across processes, see `portal.queue.task_wake`)."""
    task_wake(POSTER_TASK)


def posting_replay(
    *, posting: ErpPosting, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ErpPosting:
    """Send a dead letter again with a fresh attempt budget. Its earlier attempts stay on record, and
    because it was tried before, the ERP is searched for our reference before anything is sent."""
    with transaction.atomic():
        posting = ErpPosting.objects.select_for_update().get(pk=posting.pk)
        status_transition(
            instance=posting,
            to_status=Status.PENDING,
            max_attempts=posting.attempt_count + DEFAULT_MAX_ATTEMPTS,
            next_attempt_at=None,
        )
        audit_record(action="posting.replay", subject=posting, actor=actor, reason=reason)
        postings_wake()
    return posting


def posting_release(
    *, posting: ErpPosting, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ErpPosting:
    with transaction.atomic():
        posting = ErpPosting.objects.select_for_update().get(pk=posting.pk)
        if posting.status == Status.HELD:
            status_transition(instance=posting, to_status=Status.PENDING)
            audit_record(action="posting.release", subject=posting, actor=actor, reason=reason)
            postings_wake()
    return posting


def posting_cancel(
    *, posting: ErpPosting, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ErpPosting:
    with transaction.atomic():
        posting = ErpPosting.objects.select_for_update().get(pk=posting.pk)
        status_transition(instance=posting, to_status=Status.CANCELLED, last_error=reason[:2000])
        audit_record(action="posting.cancel", subject=posting, actor=actor, reason=reason)
        if dependents_release(posting=posting):
            postings_wake()
    return posting


def posting_resolve_soon(*, posting: ErpPosting, reason: str) -> ErpPosting:
    """Make a posting that was tried before due now, wherever it waits (a dead letter gets a fresh
    attempt budget), so its next try soon says whether the ERP has it. One in flight or settled is left
    as it is."""
    with transaction.atomic():
        posting = ErpPosting.objects.select_for_update().get(pk=posting.pk)
        if posting.status == Status.DEAD:
            return posting_replay(posting=posting, reason=reason)
        if posting.status == Status.HELD:
            return posting_release(posting=posting, reason=reason)
        if posting.status == Status.RETRYABLE:
            status_transition(instance=posting, to_status=Status.RETRYABLE, next_attempt_at=timezone.now())
            postings_wake()
    return posting


def postings_replay_dead(*, actor: AbstractBaseUser | None = None, reason: str = "", **filters) -> int:
    count = 0
    for posting in ErpPosting.objects.filter(status=Status.DEAD, **filters).order_by("pk"):
        posting_replay(posting=posting, actor=actor, reason=reason)
        count += 1
    return count
