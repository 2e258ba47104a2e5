"""Reads behind the admin index: today's activity, the queues waiting for people, and 30 days of trends.

Every figure is one set-based aggregate, so the dashboard costs the same handful of queries whether the
books hold ten payments or ten million. Each window is in its WHERE clause, where an index (declared beside
the models, named after what it serves) reads only the window's rows, never the whole table.
Only the running environment's connections are counted.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from integrations.connection_health import connection_outage
from integrations.models import ERP_SYSTEMS, ErpPosting, ErpPostingAttempt
from integrations.selectors import connections_active
from payments.models import ReconciliationException, SettlementBatch, Transaction
from payments.selectors.unapplied import unapplied_totals
from portal.review_queues import review_queues

CHART_DAYS = 30
PAYMENT_TYPES = (Transaction.Type.SALE, Transaction.Type.ACH_SALE)
NOT_VOLUME = (Transaction.Status.DECLINED, Transaction.Status.VOIDED)
SUCCESSFUL_ATTEMPTS = (ErpPostingAttempt.Outcome.POSTED, ErpPostingAttempt.Outcome.FOUND_EXISTING)
HUNDRED = Decimal(100)


def _percent(part: int, whole: int) -> Decimal | None:
    return (HUNDRED * part / whole).quantize(Decimal("0.1")) if whole else None


@dataclass(frozen=True)
class Volume:
    currency: str
    today_count: int
    today_amount: Decimal
    month_count: int
    month_amount: Decimal


@dataclass(frozen=True)
class Unapplied:
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class PostingLag:
    count: int
    median: timedelta | None
    longest: timedelta | None


@dataclass(frozen=True)
class ConnectionRate:
    name: str
    posted: int
    dead: int
    attempts: int
    successful_attempts: int

    @property
    def success_rate(self) -> Decimal | None:
        """Share of finished postings that posted rather than died."""
        return _percent(self.posted, self.posted + self.dead)

    @property
    def attempt_success_rate(self) -> Decimal | None:
        return _percent(self.successful_attempts, self.attempts)


@dataclass(frozen=True)
class ConnectionHealth:
    """What the connection's own calls say (`integrations.connection_health`)."""

    name: str
    system: str
    last_success_at: datetime | None
    failing_since: datetime | None
    last_failure_reason: str
    outage: bool  # failing for longer than CONNECTION_OUTAGE_ALERT_MINUTES: an alert went out

    @property
    def healthy(self) -> bool:
        return self.failing_since is None


@dataclass(frozen=True)
class QueueTile:
    """A review queue: how many items wait for a decision, and the list that shows them."""

    title: str
    model_name: str
    count: int
    url: str


@dataclass(frozen=True)
class DailyTrends:
    days: list[date]
    payments: list[int]
    lag_average_minutes: list[Decimal | None]
    lag_longest_minutes: list[Decimal | None]
    reconciliation_rate: list[Decimal | None]


@dataclass(frozen=True)
class Dashboard:
    as_of: datetime
    volumes: list[Volume]
    lag: PostingLag
    queues: list[QueueTile]
    unapplied: list[Unapplied]
    connections: list[ConnectionRate]
    health: list[ConnectionHealth]
    invoice_drift: int  # open review items where an invoice copy differs from its ERP
    trends: DailyTrends = field(repr=False)

    @property
    def unhealthy(self) -> list[ConnectionHealth]:
        return [connection for connection in self.health if not connection.healthy]

    def queue(self, model_name: str) -> QueueTile:
        return next(tile for tile in self.queues if tile.model_name == model_name)


def _day_start(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def _copies_kept() -> bool:
    """On PostgreSQL, triggers copy the transaction's occurred_at onto its postings and the posting's
    connection onto its attempts (migration integrations posting_lag_columns), so a window's lag and
    attempts are read from one index each; elsewhere (SQLite, few rows) the dashboard joins."""
    return connection.vendor == "postgresql"


def _lag() -> ExpressionWrapper:
    occurred = "transaction_occurred_at" if _copies_kept() else "transaction__occurred_at"
    return ExpressionWrapper(F("posted_at") - F(occurred), output_field=DurationField())


def _payments() -> QuerySet[Transaction]:
    return Transaction.objects.filter(transaction_type__in=PAYMENT_TYPES).exclude(status__in=NOT_VOLUME)


def _posted_since(since: datetime) -> QuerySet[ErpPosting]:
    linked = {"transaction_occurred_at__isnull": False} if _copies_kept() else {"transaction__isnull": False}
    return ErpPosting.objects.filter(status=ErpPosting.Status.POSTED, posted_at__gte=since, **linked)


def dashboard_volumes(*, now: datetime) -> list[Volume]:
    today, month = _day_start(now), _day_start(now).replace(day=1)
    rows = (
        _payments()
        .filter(occurred_at__gte=month, occurred_at__lte=now)
        .values("currency")
        .annotate(
            today_count=Count("pk", filter=Q(occurred_at__gte=today)),
            today_amount=Sum("amount", filter=Q(occurred_at__gte=today), default=Decimal(0)),
            month_count=Count("pk"),
            month_amount=Sum("amount", default=Decimal(0)),
        )
        .order_by("currency")
    )
    return [Volume(**row) for row in rows]


class Median(Aggregate):
    """PostgreSQL's `percentile_cont(0.5)`: the middle value, or the mean of the middle two."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def dashboard_posting_lag(*, since: datetime) -> PostingLag:
    """Median and longest time from the payment to its ERP document over the window: one aggregate on
    PostgreSQL; elsewhere (SQLite) the median is read with a second, ordered and sliced, query."""
    postings = _posted_since(since).annotate(lag=_lag())
    if connection.vendor == "postgresql":
        totals = postings.aggregate(count=Count("pk"), longest=Max("lag"), median=Median("lag"))
        if not totals["count"]:
            return PostingLag(count=0, median=None, longest=None)
        return PostingLag(count=totals["count"], median=totals["median"], longest=totals["longest"])
    totals = postings.aggregate(count=Count("pk"), longest=Max("lag"))
    count = totals["count"]
    if not count:
        return PostingLag(count=0, median=None, longest=None)
    middle = list(postings.order_by("lag").values_list("lag", flat=True)[(count - 1) // 2 : count // 2 + 1])
    return PostingLag(count=count, median=sum(middle, timedelta()) / len(middle), longest=totals["longest"])


def dashboard_unapplied() -> list[Unapplied]:
    """From the running total a trigger keeps (`payments.selectors.unapplied`): a few rows, not every
    payment waiting to be applied."""
    return [
        Unapplied(currency=total.currency, count=total.count, amount=total.amount)
        for total in unapplied_totals()
    ]


def dashboard_connection_rates(*, since: datetime) -> list[ConnectionRate]:
    """Postings finished and attempts made in the window, per active ERP connection: two grouped reads
    whose windows are in WHERE (`erpposting_finished_idx`, `erpattempt_started_idx`), so neither joins
    the whole outbox with all of its attempts."""
    names = dict(
        connections_active().filter(system__in=ERP_SYSTEMS).order_by("name").values_list("pk", "name")
    )
    finished = {
        row["connection"]: row
        for row in ErpPosting.objects.filter(
            connection__in=names,
            status__in=[ErpPosting.Status.POSTED, ErpPosting.Status.DEAD],
            created_at__gte=since,
        )
        .values("connection")
        .annotate(
            posted=Count("pk", filter=Q(status=ErpPosting.Status.POSTED)),
            dead=Count("pk", filter=Q(status=ErpPosting.Status.DEAD)),
        )
        .order_by()
    }
    via = "connection" if _copies_kept() else "posting__connection"
    attempts = {
        row[via]: row
        for row in ErpPostingAttempt.objects.filter(**{f"{via}__in": names}, started_at__gte=since)
        .values(via)
        .annotate(attempts=Count("pk"), successful=Count("pk", filter=Q(outcome__in=SUCCESSFUL_ATTEMPTS)))
        .order_by()
    }
    return [
        ConnectionRate(
            name=name,
            posted=finished.get(pk, {}).get("posted", 0),
            dead=finished.get(pk, {}).get("dead", 0),
            attempts=attempts.get(pk, {}).get("attempts", 0),
            successful_attempts=attempts.get(pk, {}).get("successful", 0),
        )
        for pk, name in names.items()
    ]


def dashboard_queues() -> list[QueueTile]:
    """Every review queue (`portal.review_queues`) with its waiting items counted: one indexed count each."""
    tiles = []
    for queue in review_queues():
        changelist = reverse(f"admin:{queue.app_label}_{queue.model_name}_changelist")
        tiles.append(
            QueueTile(
                title=queue.title,
                model_name=queue.model_name,
                count=queue.items_waiting().count(),
                url=f"{changelist}?{queue.list_query()}",
            )
        )
    return tiles


def dashboard_connection_health(*, now: datetime) -> list[ConnectionHealth]:
    rows = (
        connections_active()
        .order_by("name")
        .values("name", "system", "last_success_at", "failing_since", "last_failure_reason")
    )
    return [
        ConnectionHealth(**row, outage=connection_outage(failing_since=row["failing_since"], now=now))
        for row in rows
    ]


def _minutes(value: timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.days * 86400 + value.seconds) / 60).quantize(Decimal("0.1"))


def dashboard_trends(*, now: datetime, days: int = CHART_DAYS) -> DailyTrends:
    first = _day_start(now) - timedelta(days=days - 1)
    calendar = [first.date() + timedelta(days=offset) for offset in range(days)]
    payments = {
        row["day"]: row["count"]
        for row in _payments()
        .filter(occurred_at__gte=first)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(count=Count("pk"))
    }
    lags = {
        row["day"]: row
        for row in _posted_since(first)
        .annotate(day=TruncDate("posted_at"), lag=_lag())
        .values("day")
        .annotate(average=Avg("lag"), longest=Max("lag"))
    }
    batches = {
        row["day"]: _percent(row["reconciled"], row["total"])
        for row in SettlementBatch.objects.filter(settled_at__gte=first)
        .annotate(day=TruncDate("settled_at"))
        .values("day")
        .annotate(
            total=Count("pk"), reconciled=Count("pk", filter=Q(status=SettlementBatch.Status.RECONCILED))
        )
    }
    return DailyTrends(
        days=calendar,
        payments=[payments.get(day, 0) for day in calendar],
        lag_average_minutes=[_minutes(lags.get(day, {}).get("average")) for day in calendar],
        lag_longest_minutes=[_minutes(lags.get(day, {}).get("longest")) for day in calendar],
        reconciliation_rate=[batches.get(day) for day in calendar],
    )


def dashboard_get(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    since = _day_start(now) - timedelta(days=CHART_DAYS - 1)
    return Dashboard(
        as_of=now,
        volumes=dashboard_volumes(now=now),
        lag=dashboard_posting_lag(since=since),
        queues=dashboard_queues(),
        unapplied=dashboard_unapplied(),
        connections=dashboard_connection_rates(since=since),
        health=dashboard_connection_health(now=now),
        trends=dashboard_trends(now=now),
        invoice_drift=ReconciliationException.objects.filter(
            kind=ReconciliationException.Kind.INVOICE_DRIFT, status=ReconciliationException.Status.OPEN
        ).count(),
    )
