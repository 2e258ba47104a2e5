"""Watching the system under test from the outside: a once-a-second sampler of its queues, and the
quiescence test the soak waits for (and the account of what is left when it never comes).

Quiescent means: the inbox fully processed (no event pending, processing or failed), no posting pending,
waiting to retry or in progress (each is posted, dead, cancelled or held), no transaction left undecided,
and a PayTrace sync that started after the last payment was made has finished (only it finds the sales
PayTrace never announced)."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import redis
from django.db import connection as db_connection
from django.db.models import Count, Max, Min
from django.utils import timezone

from bench.soak_tables import erp_receipt_present

BROKER_QUEUES = "django_q:*:q"


def broker_queued(client: redis.Redis) -> int:
    """Tasks waiting in the broker, over every django-q2 queue (one per cluster name or queue)."""
    return sum(client.llen(key) for key in client.scan_iter(match=BROKER_QUEUES))


def _by_status(queryset) -> Counter:
    return Counter(dict(queryset.values_list("status").annotate(count=Count("pk")).order_by()))


@dataclass
class Sample:
    at: float
    inbox: Counter
    postings: Counter
    queued: int


@dataclass
class Watch:
    """What the sampler saw: the peaks, and when the probe's receipt reached the ERP if it came late."""

    samples: int = 0
    errors: Counter = field(default_factory=Counter)
    peak_queued: int = 0
    peak_processing_events: int = 0
    peak_in_progress_postings: int = 0
    probe_reference: str = ""
    probe_found_at: float | None = None
    last: Sample | None = None


class Sampler(threading.Thread):
    """Once a second, on its own database connection: the inbox and outbox by status and the broker's queue
    (and the probe's receipt in the ERP until it is there). A sample that fails (its connection was
    terminated too) is counted and skipped."""

    def __init__(self, *, erp_system: str, redis_url: str, interval: float = 1.0):
        super().__init__(name="soak-sampler", daemon=True)
        self.erp_system, self.interval = erp_system, interval
        self.redis = redis.Redis.from_url(redis_url)
        self.watch = Watch()
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def probe(self, *, reference: str) -> None:
        with self._lock:
            self.watch.probe_reference, self.watch.probe_found_at = reference, None

    def _sample(self) -> None:
        from integrations.models import ErpPosting, WebhookEvent

        now = time.monotonic()
        sample = Sample(
            at=now,
            inbox=_by_status(WebhookEvent.objects.all()),
            postings=_by_status(ErpPosting.objects.all()),
            queued=broker_queued(self.redis),
        )
        probe = self.watch.probe_reference
        found = bool(probe) and self.watch.probe_found_at is None
        found = found and erp_receipt_present(erp_system=self.erp_system, reference=probe)
        with self._lock:
            watch = self.watch
            watch.samples += 1
            watch.last = sample
            watch.peak_queued = max(watch.peak_queued, sample.queued)
            watch.peak_processing_events = max(watch.peak_processing_events, sample.inbox["processing"])
            watch.peak_in_progress_postings = max(
                watch.peak_in_progress_postings, sample.postings["in_progress"]
            )
            if found:
                watch.probe_found_at = now

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                self._sample()
            except Exception as error:  # noqa: BLE001 - a terminated connection, a busy Redis: next second
                self.watch.errors[type(error).__name__] += 1
                db_connection.close()
        db_connection.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


# --- quiescence --------------------------------------------------------------------------------

OPEN_EVENTS = ("pending", "processing", "failed")
OPEN_POSTINGS = ("pending", "retryable", "in_progress")


def outstanding(*, paytrace, payments_until: datetime | None) -> list[str]:
    """What keeps the system from being quiescent; empty when it is. Without `payments_until`, the sync is
    not waited for (the start-up's rest, before any payment of ours)."""
    from integrations.models import ErpPosting, SyncCursor, WebhookEvent
    from payments.models import Transaction

    left = []
    events = _by_status(WebhookEvent.objects.filter(status__in=OPEN_EVENTS))
    if events:
        left.append("inbox " + ", ".join(f"{count} {status}" for status, count in sorted(events.items())))
    postings = _by_status(ErpPosting.objects.filter(status__in=OPEN_POSTINGS))
    if postings:
        left.append("outbox " + ", ".join(f"{count} {status}" for status, count in sorted(postings.items())))
    undecided = Transaction.objects.filter(decision_pending=True).count()
    if undecided:
        left.append(f"{undecided} transactions undecided")
    if payments_until is not None:
        cursor = SyncCursor.objects.filter(connection=paytrace, resource="transactions").first()
        if cursor is None or cursor.position is None or cursor.position < payments_until:
            left.append("no PayTrace sync has finished since the last payment")
    return left


def _age(moment: datetime | None, now: datetime) -> str:
    return f"{(now - moment).total_seconds():.0f} s" if moment else "-"


def stuck_report(*, paytrace, queued: int) -> list[str]:
    """Where the outstanding work sits, for a run that did not come to rest."""
    from integrations.models import ErpPosting, SyncCursor, WebhookEvent

    now, lines = timezone.now(), []
    events = (
        WebhookEvent.objects.filter(status__in=OPEN_EVENTS)
        .values("status")
        .annotate(count=Count("pk"), oldest=Min("updated_at"), due=Max("next_attempt_at"))
    )
    for row in events.order_by("status"):
        lines.append(
            f"inbox {row['status']}: {row['count']}, oldest unchanged for {_age(row['oldest'], now)}"
            + (f", last retry due in {-(now - row['due']).total_seconds():.0f} s" if row["due"] else "")
        )
    postings = (
        ErpPosting.objects.filter(status__in=OPEN_POSTINGS)
        .values("status")
        .annotate(count=Count("pk"), claimed=Min("claimed_at"), due=Max("next_attempt_at"))
    )
    for row in postings.order_by("status"):
        line = f"outbox {row['status']}: {row['count']}"
        if row["status"] == "in_progress":
            line += f", oldest claim {_age(row['claimed'], now)} old"
        if row["status"] == "retryable" and row["due"]:
            line += f", last retry due in {(row['due'] - now).total_seconds():.0f} s"
        lines.append(line)
    cursor = SyncCursor.objects.filter(connection=paytrace, resource="transactions").first()
    if cursor is not None:
        lease = _age(now, cursor.locked_until) if cursor.locked_until else "-"
        lines.append(
            f"PayTrace sync: position {_age(cursor.position, now)} ago, "
            f"last run {_age(cursor.last_run_at, now)} ago, lease left {lease}"
            + (f", last error: {cursor.last_error[:200]}" if cursor.last_error else "")
        )
    lines.append(f"tasks waiting in the broker: {queued}")
    return lines
