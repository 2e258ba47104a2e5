"""Exponential backoff with jitter, shared by the inbox and the outbox."""

import random
from datetime import datetime, timedelta

from django.utils import timezone

BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 6 * 60 * 60


def backoff_next_attempt_at(*, attempt: int, now: datetime | None = None) -> datetime:
    """When attempt number `attempt + 1` may run: base × 2^(attempt-1), capped, then scaled by a random
    factor between 0.5 and 1 ("equal jitter"), so a burst of failures does not come back as a burst of
    retries while no retry comes sooner than half its step."""
    delay = min(BASE_DELAY_SECONDS * 2 ** max(attempt - 1, 0), MAX_DELAY_SECONDS)
    return (now or timezone.now()) + timedelta(seconds=delay * random.uniform(0.5, 1.0))
