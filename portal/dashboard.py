"""Reads behind the admin index: today's activity, the queues waiting for people, and 30 days of trends.

Every figure is one set-based aggregate, so the dashboard costs the same handful of queries whether the
books hold ten payments or ten million. Only the running environment's connections are counted.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.connection_health import connection_outage
from integrations.models import ERP_SYSTEMS, ErpPosting, ErpPostingAttempt, WebhookEvent
from integrations.selectors import connections_active
from payments.models import ReconciliationException, RiskAssessment, SettlementBatch, Transaction

CHART_DAYS = 30
PAYMENT_TYPES = (Transaction.Type.SALE, Transaction.Type.ACH_SALE)
NOT_VOLUME = (Transaction.Status.DECLINED, Transaction.Status.VOIDED)
# Money taken and kept: these can still be waiting for an invoice to be applied to.
UNAPPLIED_STATUSES = (
    Transaction.Status.APPROVED,
    Transaction.Status.SETTLED,
    Transaction.Status.PARTIALLY_REFUNDED,
)
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
    dead_postings: int
    dead_webhook_events: int
    unapplied: list[Unapplied]
    flagged: int
    connections: list[ConnectionRate]
    health: list[ConnectionHealth]
    invoice_drift: int  # open review items where an invoice copy differs from its ERP
    trends: DailyTrends = field(repr=False)

    @property
    def unhealthy(self) -> list[ConnectionHealth]:
        return [connection for connection in self.health if not connection.healthy]


def _day_start(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def _lag() -> ExpressionWrapper:
    return ExpressionWrapper(F("posted_at") - F("transaction__occurred_at"), output_field=DurationField())


def _payments() -> QuerySet[Transaction]:
    return Transaction.objects.filter(transaction_type__in=PAYMENT_TYPES).exclude(status__in=NOT_VOLUME)


def _posted_since(since: datetime) -> QuerySet[ErpPosting]:
    return ErpPosting.objects.filter(
        status=ErpPosting.Status.POSTED, posted_at__gte=since, transaction__isnull=False
    )


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


def dashboard_posting_lag(*, since: datetime) -> PostingLag:
    """Median and longest time from the payment to its ERP document over the window. The median is
    read with one ordered, sliced query, which works the same on PostgreSQL and SQLite."""
    postings = _posted_since(since).annotate(lag=_lag())
    totals = postings.aggregate(count=Count("pk"), longest=Max("lag"))
    count = totals["count"]
    if not count:
        return PostingLag(count=0, median=None, longest=None)
    middle = list(postings.order_by("lag").values_list("lag", flat=True)[(count - 1) // 2 : count // 2 + 1])
    return PostingLag(count=count, median=sum(middle, timedelta()) / len(middle), longest=totals["longest"])


def dashboard_unapplied() -> list[Unapplied]:
    remaining = F("amount") - F("amount_refunded") - F("amount_applied")
    rows = (
        _payments()
        .filter(status__in=UNAPPLIED_STATUSES, amount__gt=F("amount_refunded") + F("amount_applied"))
        .values("currency")
        .annotate(count=Count("pk"), amount=Sum(remaining))
        .order_by("currency")
    )
    return [Unapplied(**row) for row in rows]


def dashboard_connection_rates(*, since: datetime) -> list[ConnectionRate]:
    # Posting counts are distinct because the join to attempts repeats each posting once per attempt.
    in_window = Q(postings__created_at__gte=since)
    attempt_in_window = Q(postings__attempts__started_at__gte=since)
    rows = (
        connections_active()
        .filter(system__in=ERP_SYSTEMS)
        .annotate(
            posted=Count(
                "postings", filter=in_window & Q(postings__status=ErpPosting.Status.POSTED), distinct=True
            ),
            dead=Count(
                "postings", filter=in_window & Q(postings__status=ErpPosting.Status.DEAD), distinct=True
            ),
            attempts=Count("postings__attempts", filter=attempt_in_window),
            successful_attempts=Count(
                "postings__attempts",
                filter=attempt_in_window & Q(postings__attempts__outcome__in=SUCCESSFUL_ATTEMPTS),
            ),
        )
        .order_by("name")
        .values("name", "posted", "dead", "attempts", "successful_attempts")
    )
    return [ConnectionRate(**row) for row in rows]


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
        dead_postings=ErpPosting.objects.filter(status=ErpPosting.Status.DEAD).count(),
        dead_webhook_events=WebhookEvent.objects.filter(status=WebhookEvent.Status.DEAD).count(),
        unapplied=dashboard_unapplied(),
        flagged=RiskAssessment.objects.filter(status=RiskAssessment.Status.FLAGGED).count(),
        connections=dashboard_connection_rates(since=since),
        health=dashboard_connection_health(now=now),
        trends=dashboard_trends(now=now),
        invoice_drift=ReconciliationException.objects.filter(
            kind=ReconciliationException.Kind.INVOICE_DRIFT, status=ReconciliationException.Status.OPEN
        ).count(),
    )
