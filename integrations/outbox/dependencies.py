"""A document that reverses or offsets a receipt (a void's reversal, a refund's credit note) waits for it,
and a receipt waits for the customer posting that creates its customer in the ERP.

`ErpPosting.depends_on` names the receipt. The outbox's claim query only hands out a dependent once its
receipt is settled: posted, or cancelled because it never reached the ERP. So a reversal is never sent
for a receipt still in flight (the ERP would not know it yet), and a credit note never reaches the ERP
without the money it gives back, however many workers compete. Waiting costs no attempt.

A receipt that becomes a dead letter holds its dependents, so finance sees in the held queue what waits on
it; they are released when the receipt is posted or cancelled. A dependent whose receipt ended cancelled
has nothing to reverse or offset in the ERP, and ends cancelled too."""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from integrations.models import ErpPosting
from integrations.outbox.registry import PostingNotNeeded

Status = ErpPosting.Status
SETTLED = (Status.POSTED, Status.CANCELLED)
# The error code on a dependent held because its receipt is a dead letter: only those are released.
PREREQUISITE_DEAD = "PrerequisiteDead"


def prerequisite_settled() -> Q:
    """The rows with no receipt to wait for: none named, or the named one posted or cancelled."""
    unsettled = ErpPosting.objects.filter(pk=OuterRef("depends_on_id")).exclude(status__in=SETTLED)
    return Q(~Exists(unsettled))


def dependents_hold(*, posting: ErpPosting) -> int:
    """`posting` is a dead letter: hold what waits for it, saying why."""
    return ErpPosting.objects.filter(
        depends_on=posting, status__in=(Status.PENDING, Status.RETRYABLE)
    ).update(
        status=Status.HELD,
        last_error_code=PREREQUISITE_DEAD,
        last_error=f"Waits for {posting} ({posting.reference}), a dead letter: replay or cancel that one.",
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def dependents_release(*, posting: ErpPosting) -> int:
    """`posting` is settled: what it held for being dead goes back to pending."""
    return dependents_release_many(postings=[posting])


def dependents_release_many(*, postings: list[ErpPosting]) -> int:
    """`dependents_release` for several settled postings in one statement."""
    return ErpPosting.objects.filter(
        depends_on__in=[posting.pk for posting in postings],
        status=Status.HELD,
        last_error_code=PREREQUISITE_DEAD,
    ).update(status=Status.PENDING, last_error_code="", last_error="", updated_at=timezone.now())


def prerequisite_check(*, posting: ErpPosting) -> None:
    """Called by the builders of dependent documents: a receipt that never reached the ERP leaves nothing
    there to reverse or offset."""
    receipt = posting.depends_on
    if receipt is not None and receipt.status == Status.CANCELLED:
        raise PostingNotNeeded(f"{receipt} never reached the ERP: nothing to undo there")
