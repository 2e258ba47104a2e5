"""Claim and drain: how the inbox and the outbox hand out work to any number of workers.

Due rows are moved to their "claimed" status under `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent
workers never claim the same row. A claim is a short lease (`ClaimQueue.lease`, a minute): while a worker
works its batch, a heartbeat thread renews the lease of the rows it has not finished, so a row is only
claimed again once its worker has stopped renewing it, i.e. died (SIGKILL, a lost database connection).
A drain claims and processes batches until nothing is due or its time budget is spent; the budget is
checked before each item, and the items claimed but not started are handed back at once. A drain told
which rows are coming due waits for those due within its budget, so a retry or an abandoned claim is taken
up when it falls due, not at the next scheduled run."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.heartbeat import Heartbeat

CLAIM_LEASE = timedelta(seconds=60)
LINGER_POLL_SECONDS = 1.0  # how often a drain waiting for rows coming due looks again


@dataclass(frozen=True)
class ClaimQueue:
    model: type[models.Model]
    due: Callable[[datetime], Q]  # the rows ready for work at a given time
    claimed_status: str
    released_status: str  # where a claimed row handed back unstarted goes (due again at once)
    claimed_at_field: str
    order_by: tuple[str, ...]
    lease: timedelta = CLAIM_LEASE


class Budget:
    """A time budget, checked before each item so a drain ends well inside its task's timeout."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


def rows_claim(
    *,
    queue: ClaimQueue,
    limit: int,
    now: datetime | None = None,
    on_reclaim: Callable[[QuerySet], Any] | None = None,
) -> list[int]:
    """Move up to `limit` due or abandoned rows to the claimed status, stamped `now`, and return their ids,
    oldest first. `on_reclaim` sees the abandoned ones first (to count the try their dead worker made)."""
    now = now or timezone.now()
    abandoned = Q(status=queue.claimed_status, **{f"{queue.claimed_at_field}__lt": now - queue.lease})
    with transaction.atomic():
        ids = list(
            queue.model.objects.select_for_update(skip_locked=True)
            .filter(queue.due(now) | abandoned)
            .order_by(*queue.order_by)
            .values_list("pk", flat=True)[:limit]
        )
        claimed = queue.model.objects.filter(pk__in=ids)
        if on_reclaim is not None:
            on_reclaim(claimed.filter(status=queue.claimed_status))
        claimed.update(status=queue.claimed_status, **{queue.claimed_at_field: now, "updated_at": now})
    return ids


def _ours(queue: ClaimQueue, ids: list[int], stamp: datetime) -> QuerySet:
    """The rows of `ids` still claimed under our stamp: finished ones have left the claimed status, and one
    stamped otherwise was claimed again by someone else."""
    return queue.model.objects.filter(
        pk__in=ids, status=queue.claimed_status, **{queue.claimed_at_field: stamp}
    )


def rows_release(*, queue: ClaimQueue, ids: list[int], stamp: datetime) -> int:
    """Hand back claimed rows that were not started: due again at once, no try counted."""
    return _ours(queue, ids, stamp).update(status=queue.released_status, updated_at=timezone.now())


class Lease(Heartbeat):
    """Renews the claim of a batch in a background thread while it is worked (a heartbeat every third of
    the lease), until nothing of ours is left claimed."""

    def __init__(self, *, queue: ClaimQueue, ids: list[int], stamp: datetime):
        self.queue, self.ids, self.stamp = queue, ids, stamp
        super().__init__(
            interval=queue.lease.total_seconds() / 3, beat=lambda: bool(self.renew()), name="claim-heartbeat"
        )

    def renew(self) -> int:
        now = timezone.now()
        renewed = _ours(self.queue, self.ids, self.stamp).update(
            **{self.queue.claimed_at_field: now, "updated_at": now}
        )
        self.stamp = now
        return renewed


def _coming_within(queue: ClaimQueue, coming: Callable[[datetime], Q] | None, budget: Budget) -> bool:
    if coming is None:
        return False
    by = timezone.now() + timedelta(seconds=budget.left())
    return queue.model.objects.filter(coming(by)).exists()


# Processes claimed ids, checking the budget before each item; returns the ids it did not start.
Process = Callable[[list[int], Budget], list[int]]


def rows_drain(
    *,
    queue: ClaimQueue,
    claim: Callable[[datetime], list[int]],
    process: Process,
    time_budget_seconds: float,
    coming: Callable[[datetime], Q] | None = None,
) -> int:
    """Claim and process batches until none is due or the budget is spent; returns how many rows were
    started. `claim(now)` claims rows stamped `now`. `coming(by)` selects the rows not due yet that will be
    by then (a retry's backoff ending, a dead worker's lease running out): while some will be within the
    budget, the drain waits for them instead of ending and leaving them to the next scheduled run."""
    budget = Budget(time_budget_seconds)
    started = 0
    while not budget.spent():
        stamp = timezone.now()
        ids = claim(stamp)
        if not ids:
            if not _coming_within(queue, coming, budget):
                break
            time.sleep(min(LINGER_POLL_SECONDS, budget.left()))  # new rows are claimed as they come too
            continue
        with Lease(queue=queue, ids=ids, stamp=stamp) as lease:
            left = process(ids, budget)
        if left:
            rows_release(queue=queue, ids=left, stamp=lease.stamp)
        started += len(ids) - len(left)
    return started
