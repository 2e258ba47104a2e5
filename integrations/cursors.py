"""Leases on sync cursors: one run per (connection, resource) at a time, and a lease left by a dead
worker expires on its own. A run that works in slices advances the cursor (and renews its lease) after
each, so a run stopped by its time budget, or killed, resumes where it got to."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from integrations.models import Connection, SyncCursor
from portal.pci import card_numbers_mask

# Longer than any run's task timeout (so two runs never overlap), and renewed by each slice.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class SyncSummary:
    connection: str
    skipped: bool = False
    records: int = 0
    changed: int = 0
    window_start: datetime | None = None
    complete: bool = True  # False when the time budget stopped it: the next run resumes from the cursor


def sync_cursor_claim(*, connection: Connection, resource: str, now: datetime) -> SyncCursor | None:
    """The cursor, leased to the caller; None when another run holds it."""
    cursor, _ = SyncCursor.objects.get_or_create(connection=connection, resource=resource)
    claimed = SyncCursor.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now), pk=cursor.pk
    ).update(locked_until=now + LEASE, last_run_at=now)
    if not claimed:
        return None
    cursor.refresh_from_db()
    return cursor


def sync_cursor_advance(*, cursor: SyncCursor, position: datetime, seen: int, now: datetime) -> None:
    """A slice is done: everything before `position` is read. The cursor never moves back."""
    cursor.position = max(position, cursor.position) if cursor.position else position
    cursor.records_seen += seen
    SyncCursor.objects.filter(pk=cursor.pk).update(
        position=cursor.position, records_seen=cursor.records_seen, locked_until=now + LEASE
    )


def sync_cursor_release(*, cursor: SyncCursor, position: datetime | None, seen: int, error: str) -> None:
    """End the lease; a run that succeeded (`position` given) advances the cursor, one that failed keeps it
    where it was and leaves its error."""
    updates: dict = {"locked_until": None, "last_error": card_numbers_mask(error)[:2000]}
    if position is not None:
        updates.update(
            position=position, last_success_at=timezone.now(), records_seen=cursor.records_seen + seen
        )
    SyncCursor.objects.filter(pk=cursor.pk).update(**updates)
