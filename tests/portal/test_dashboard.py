"""The dashboard: its figures from the data, its SVG charts, and a constant number of queries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import ErpPosting, ErpPostingAttempt
from payments.models import RiskAssessment
from portal.admin_site import duration_text
from portal.charts import Series, chart_bars_svg, chart_lines_svg
from portal.dashboard import dashboard_get
from tests import factories as f

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def posted(*, erp, occurred_at, lag_minutes, **fields):
    txn = f.TransactionFactory(occurred_at=occurred_at)
    return f.ErpPostingFactory(
        connection=erp,
        transaction=txn,
        status="posted",
        erp_document_number="PY1",
        posted_at=occurred_at + timedelta(minutes=lag_minutes),
        **fields,
    )


def test_bar_chart_draws_a_bar_per_day_with_data_and_escapes_labels():
    svg = chart_bars_svg(title="Payments <per> day", labels=["a", "b", "<c>"], values=[1, 0, 3])
    assert svg.startswith("<svg") and svg.count('class="bar"') == 2  # none for the empty day
    assert "&lt;c&gt;: 3" in svg and "<c>" not in svg
    assert "Payments &lt;per&gt; day" in svg


def test_empty_chart_says_so():
    assert "No data yet" in chart_bars_svg(title="t", labels=["a", "b"], values=[0, 0])
    assert "No data yet" in chart_lines_svg(title="t", labels=["a"], series=[Series("s", [None])])


def test_line_chart_breaks_where_data_is_missing_and_honours_a_fixed_scale():
    svg = chart_lines_svg(
        title="rate",
        labels=["1", "2", "3", "4", "5"],
        series=[Series("reconciled", [Decimal("50"), Decimal("100"), None, Decimal("25"), Decimal("75")])],
        unit="%",
        top=100,
    )
    assert svg.count("<polyline") == 2
    assert svg.count('class="point"') == 4
    assert "100%" in svg  # the top gridline is the fixed 100, not the data's maximum


def test_duration_text():
    assert duration_text(None) == "–"
    assert duration_text(timedelta(seconds=42)) == "42 s"
    assert duration_text(timedelta(minutes=75)) == "1 h 15 min"
    assert duration_text(timedelta(days=2, hours=3)) == "2 d 3 h"


def test_dashboard_figures_come_from_the_data():
    erp = f.ConnectionFactory(name="erp-a", system="sage_300")
    f.ConnectionFactory(name="erp-qa", system="sage_300", environment="qa")  # another environment: unseen
    today, earlier = NOW - timedelta(hours=1), NOW - timedelta(days=10)
    f.TransactionFactory(occurred_at=today, amount=Decimal("10.00"))
    f.TransactionFactory(occurred_at=earlier, amount=Decimal("5.50"), amount_applied=Decimal("5.50"))
    f.TransactionFactory(occurred_at=today, amount=Decimal("7.00"), currency="CAD")
    f.TransactionFactory(occurred_at=today, amount=Decimal("99.00"), status="declined")
    f.TransactionFactory(occurred_at=NOW - timedelta(days=40), amount=Decimal("1.00"))  # last month
    for minutes in (10, 20, 60):
        posted(erp=erp, occurred_at=earlier, lag_minutes=minutes)
    dead = f.ErpPostingFactory(connection=erp, status="dead", transaction=None)
    for number, outcome in enumerate(["transient", "permanent"], start=1):
        ErpPostingAttempt.objects.create(posting=dead, number=number, started_at=NOW, outcome=outcome)
    f.WebhookEventFactory(status="dead")
    RiskAssessment.objects.create(transaction=f.TransactionFactory(), score=90, status="flagged")
    RiskAssessment.objects.create(transaction=f.TransactionFactory(), score=10, status="cleared")

    board = dashboard_get(now=NOW)

    usd = next(v for v in board.volumes if v.currency == "USD")
    assert (usd.today_count, usd.today_amount) == (1, Decimal("10.00"))
    # this month: the 10.00 and 5.50 payments and the three 100.00 payments that were posted
    assert (usd.month_count, usd.month_amount) == (5, Decimal("315.50"))
    assert [v.currency for v in board.volumes] == ["CAD", "USD"]
    assert board.lag.count == 3
    assert board.lag.median == timedelta(minutes=20)
    assert board.lag.longest == timedelta(minutes=60)
    assert (board.dead_postings, board.dead_webhook_events, board.flagged) == (1, 1, 1)
    unapplied = {row.currency: row.amount for row in board.unapplied}
    # every approved USD payment but the applied 5.50 one, whenever it was taken: 10 + 3×100 + 2×100 + 1
    assert unapplied == {"CAD": Decimal("7.00"), "USD": Decimal("511.00")}
    (rate,) = board.connections
    assert (rate.name, rate.posted, rate.dead, rate.attempts) == ("erp-a", 3, 1, 2)
    assert rate.success_rate == Decimal("75.0")
    assert rate.attempt_success_rate == Decimal("0.0")
    day = board.trends.days.index(earlier.date())
    assert board.trends.payments[day] == 1 + 3  # the 5.50 payment and the three posted ones
    assert board.trends.lag_average_minutes[day] == Decimal("30.0")
    assert board.trends.lag_longest_minutes[day] == Decimal("60.0")
    assert len(board.trends.days) == 30 and board.trends.days[-1] == NOW.date()


def test_even_count_median_is_the_mean_of_the_middle_two():
    erp = f.ConnectionFactory(system="sage_300")
    for minutes in (10, 20, 40, 50):
        posted(erp=erp, occurred_at=NOW - timedelta(days=1), lag_minutes=minutes)
    assert dashboard_get(now=NOW).lag.median == timedelta(minutes=30)


def test_reconciliation_rate_per_day():
    settled = NOW - timedelta(days=2)
    for status in ("reconciled", "reconciled", "exceptions", "imported"):
        f.SettlementBatchFactory(settled_at=settled, status=status)
    trends = dashboard_get(now=NOW).trends
    assert trends.reconciliation_rate[trends.days.index(settled.date())] == Decimal("50.0")
    assert trends.reconciliation_rate[-1] is None


def build(count: int) -> None:
    erp = f.ConnectionFactory(system="sage_300")
    for _ in range(count):
        posting = posted(erp=erp, occurred_at=timezone.now() - timedelta(days=1), lag_minutes=5)
        ErpPostingAttempt.objects.create(
            posting=posting, number=1, started_at=timezone.now(), outcome="posted"
        )
        f.ErpPostingFactory(connection=erp, status=ErpPosting.Status.DEAD)
        f.SettlementBatchFactory()
        RiskAssessment.objects.create(
            transaction=f.TransactionFactory(currency="EUR"), score=70, status="flagged"
        )


def test_admin_index_is_the_dashboard_with_charts_in_constant_queries(client):
    client.force_login(f.UserFactory(username="root", is_superuser=True))
    build(2)
    with CaptureQueriesContext(connection) as small:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    build(8)
    with CaptureQueriesContext(connection) as large:
        page = client.get(reverse("admin:index")).content.decode()
    assert len(large) == len(small)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert 'id="chart-payments"' in page and "Payments per day" in page
    assert 'id="tile-dead"' in page and "status__exact=dead" in page
