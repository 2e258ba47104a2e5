"""Claim and drain: how the inbox and the outbox hand out work to any number of workers.

Due rows are moved to their "claimed" status under `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent
workers never claim the same row, and a row whose claim has gone stale (its worker died mid-work) is claimed
again. A drain claims and processes batches until nothing is due or its time budget is spent."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone


@dataclass(frozen=True)
class ClaimQueue:
    model: type[models.Model]
    due: Callable[[datetime], Q]  # the rows ready for work at a given time
    claimed_status: str
    claimed_at_field: str
    order_by: tuple[str, ...]
    stale_after: timedelta


def rows_claim(
    *,
    queue: ClaimQueue,
    limit: int,
    now: datetime | None = None,
    on_reclaim: Callable[[QuerySet], Any] | None = None,
) -> list[int]:
    """Move up to `limit` due or abandoned rows to the claimed status and return their ids, oldest first.
    `on_reclaim` sees the abandoned ones first (to count the try their dead worker made)."""
    now = now or timezone.now()
    abandoned = Q(status=queue.claimed_status, **{f"{queue.claimed_at_field}__lt": now - queue.stale_after})
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


def rows_drain(
    *, claim: Callable[[], list[int]], process: Callable[[list[int]], Any], time_budget_seconds: float
) -> int:
    """Claim and process batches until none is due or the budget is spent; returns how many rows were
    processed."""
    deadline = time.monotonic() + time_budget_seconds
    processed = 0
    while time.monotonic() < deadline:
        ids = claim()
        if not ids:
            break
        process(ids)
        processed += len(ids)
    return processed
