"""Human actions on the outbox: replay a dead letter, release a held posting, cancel one."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integrations.audit import audit_record
from integrations.models import ErpPosting
from portal.lifecycle import status_transition

Status = ErpPosting.Status
DEFAULT_MAX_ATTEMPTS = ErpPosting._meta.get_field("max_attempts").default


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
    return posting


def posting_release(
    *, posting: ErpPosting, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ErpPosting:
    with transaction.atomic():
        posting = ErpPosting.objects.select_for_update().get(pk=posting.pk)
        if posting.status == Status.HELD:
            status_transition(instance=posting, to_status=Status.PENDING)
            audit_record(action="posting.release", subject=posting, actor=actor, reason=reason)
    return posting


def posting_cancel(
    *, posting: ErpPosting, actor: AbstractBaseUser | None = None, reason: str = ""
) -> ErpPosting:
    with transaction.atomic():
        posting = ErpPosting.objects.select_for_update().get(pk=posting.pk)
        status_transition(instance=posting, to_status=Status.CANCELLED, last_error=reason[:2000])
        audit_record(action="posting.cancel", subject=posting, actor=actor, reason=reason)
    return posting


def postings_replay_dead(*, actor: AbstractBaseUser | None = None, reason: str = "", **filters) -> int:
    count = 0
    for posting in ErpPosting.objects.filter(status=Status.DEAD, **filters).order_by("pk"):
        posting_replay(posting=posting, actor=actor, reason=reason)
        count += 1
    return count
