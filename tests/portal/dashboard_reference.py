"""The dashboard's aggregates as they were before issue 16 moved their windows into WHERE: kept, verbatim,
as the reference the rewritten ones must agree with on the same rows (tests/portal/test_dashboard.py)."""

from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q

from integrations.models import ERP_SYSTEMS, ErpPosting
from integrations.selectors import connections_active
from portal.dashboard import SUCCESSFUL_ATTEMPTS, ConnectionRate, PostingLag


def _lag() -> ExpressionWrapper:
    # Through the join, not the trigger's copy (transaction_occurred_at), which this is the reference for.
    return ExpressionWrapper(F("posted_at") - F("transaction__occurred_at"), output_field=DurationField())


def _posted_since(since: datetime):
    return ErpPosting.objects.filter(
        status=ErpPosting.Status.POSTED, posted_at__gte=since, transaction__isnull=False
    )


def reference_posting_lag(*, since: datetime) -> PostingLag:
    postings = _posted_since(since).annotate(lag=_lag())
    totals = postings.aggregate(count=Count("pk"), longest=Max("lag"))
    count = totals["count"]
    if not count:
        return PostingLag(count=0, median=None, longest=None)
    middle = list(postings.order_by("lag").values_list("lag", flat=True)[(count - 1) // 2 : count // 2 + 1])
    return PostingLag(count=count, median=sum(middle, timedelta()) / len(middle), longest=totals["longest"])


def reference_connection_rates(*, since: datetime) -> list[ConnectionRate]:
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
