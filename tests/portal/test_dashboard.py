"""The dashboard: its figures from the data, its SVG charts, and a constant number of queries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.check_reasons import UNREACHABLE
from integrations.models import ErpPosting, ErpPostingAttempt
from payments.models import RiskAssessment
from portal.admin_site import duration_text
from portal.charts import Series, chart_bars_svg, chart_lines_svg
from portal.dashboard import (
    CHART_DAYS,
    _day_start,
    dashboard_connection_rates,
    dashboard_get,
    dashboard_posting_lag,
)
from tests import factories as f
from tests.portal.dashboard_reference import reference_connection_rates, reference_posting_lag

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
    queues = {tile.model_name: tile.count for tile in board.queues}
    assert (queues["erpposting"], queues["webhookevent"], queues["riskassessment"]) == (1, 1, 1)
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
    assert 'id="tile-queue-erpposting"' in page and "status__exact=dead" in page


def attempt(posting, *, number: int, started_at, outcome: str) -> None:
    ErpPostingAttempt.objects.create(posting=posting, number=number, started_at=started_at, outcome=outcome)


def test_windowed_aggregates_give_the_numbers_the_reference_gave():
    """The same rows read by the aggregates before and after their windows moved into WHERE."""
    since = _day_start(NOW) - timedelta(days=CHART_DAYS - 1)
    before, inside = since - timedelta(hours=2), since + timedelta(hours=2)
    erp_a = f.ConnectionFactory(name="erp-a", system="sage_300")
    erp_b = f.ConnectionFactory(name="erp-b", system="sage_x3")
    f.ConnectionFactory(name="erp-idle", system="sage_pro")  # no postings: zeros, still listed
    off = f.ConnectionFactory(name="erp-off", system="sage_300", is_active=False)
    paytrace = f.ConnectionFactory(name="pt", system="paytrace")
    for erp, lags in ((erp_a, (5, 17, 240, 61)), (erp_b, (3, 1440, 9))):
        for minutes in lags:
            posting = posted(erp=erp, occurred_at=inside, lag_minutes=minutes)
            attempt(posting, number=1, started_at=inside, outcome="transient")
            attempt(posting, number=2, started_at=posting.posted_at, outcome="posted")
    # Created before the window, with attempts on both sides of it: only the attempts inside count.
    old = posted(erp=erp_a, occurred_at=before - timedelta(days=1), lag_minutes=10)
    ErpPosting.objects.filter(pk=old.pk).update(created_at=before, posted_at=before)
    attempt(old, number=1, started_at=before, outcome="transient")
    attempt(old, number=2, started_at=inside, outcome="found_existing")
    # Posted inside the window for a payment taken long before: a long lag, counted.
    posted(erp=erp_b, occurred_at=before - timedelta(days=3), lag_minutes=3 * 24 * 60 + 200)
    for erp, status in ((erp_a, "dead"), (erp_b, "dead"), (erp_a, "pending"), (off, "posted")):
        doomed = f.ErpPostingFactory(
            connection=erp, status=status, erp_document_number="X1", transaction=None
        )
        attempt(doomed, number=1, started_at=inside, outcome="permanent" if status == "dead" else "posted")
    stale = f.ErpPostingFactory(connection=erp_b, status="dead", transaction=None)
    ErpPosting.objects.filter(pk=stale.pk).update(created_at=before)
    f.ErpPostingFactory(
        connection=paytrace, status="posted", erp_document_number="P1", posted_at=inside, transaction=None
    )

    assert dashboard_connection_rates(since=since) == reference_connection_rates(since=since)
    assert dashboard_posting_lag(since=since) == reference_posting_lag(since=since)
    rates = {rate.name: rate for rate in dashboard_connection_rates(since=since)}
    assert list(rates) == ["erp-a", "erp-b", "erp-idle"]
    assert (rates["erp-a"].posted, rates["erp-a"].dead, rates["erp-a"].attempts) == (4, 1, 11)
    # An even count: the mean of the middle two (17 and 61 minutes), as before.
    assert dashboard_posting_lag(since=since).median == timedelta(minutes=39)

    posted(erp=erp_a, occurred_at=inside, lag_minutes=7)
    assert dashboard_posting_lag(since=since) == reference_posting_lag(since=since)
    assert dashboard_posting_lag(since=since).median == timedelta(minutes=17)
    ErpPosting.objects.all().delete()
    assert dashboard_posting_lag(since=since) == reference_posting_lag(since=since)


def test_a_tile_per_review_queue_counts_what_waits_and_links_to_its_list(client):
    from customers.models import DuplicateCandidate
    from integrations.models import Alert
    from payments.models import ReconciliationException
    from portal.review_queues import review_queues

    erp = f.ConnectionFactory(system="sage_300")
    f.ErpPostingFactory(connection=erp, status="dead")
    f.ErpPostingFactory(connection=erp, status="posted", erp_document_number="CA1")
    f.WebhookEventFactory(status="failed")
    f.WebhookEventFactory(status="processed")
    for number, status in enumerate(("open", "open", "resolved")):
        ReconciliationException.objects.create(
            kind="missing_in_erp", status=status, reason="not in the ERP", dedup_key=f"k-{number}"
        )
    a, b = f.CustomerFactory(), f.CustomerFactory()
    DuplicateCandidate.objects.create(customer=a, other=b, reason="same email")
    Alert.objects.create(title="[MappingMissing] no GL account")
    Alert.objects.create(title="seen", acknowledged_at=NOW)

    board = dashboard_get(now=NOW)

    assert [tile.title for tile in board.queues] == [queue.title for queue in review_queues()]
    counts = {tile.model_name: tile.count for tile in board.queues}
    assert counts == {
        "riskassessment": 0,
        "reconciliationexception": 2,
        "duplicatecandidate": 1,
        "erpposting": 1,
        "webhookevent": 1,
        "alert": 1,
    }
    assert board.queue("webhookevent").url == "/admin/integrations/webhookevent/?status__in=dead%2Cfailed"
    assert board.queue("alert").url == "/admin/integrations/alert/?acknowledged_at__isnull=1"
    client.force_login(f.UserFactory(username="root", is_superuser=True))
    page = client.get(reverse("admin:index")).content.decode()
    for tile in board.queues:
        assert f'id="tile-queue-{tile.model_name}"' in page and tile.title in page
        # Each link opens its list, filtered as the tile counts it.
        listed = client.get(tile.url)
        assert listed.status_code == 200, tile.url
        assert listed.context["cl"].result_count >= tile.count
    assert client.get(board.queue("erpposting").url).context["cl"].result_count == 1
    assert client.get(board.queue("alert").url).context["cl"].result_count == 1


def test_declined_and_voided_sales_are_not_flagged_work(admin_client):
    """Only a payment with something held from the ERP waits for a decision; a declined sale's score is
    history. The tile links to the flagged list, which shows what the tile counts."""
    for status in ("approved", "settled", "declined", "voided", "refunded"):
        RiskAssessment.objects.create(
            transaction=f.TransactionFactory(status=status), score=90, status="flagged"
        )
    RiskAssessment.objects.create(transaction=f.TransactionFactory(), score=90, status="approved")
    tile = dashboard_get(now=NOW).queue("riskassessment")
    assert tile.count == 3
    assert tile.url.endswith("?status__exact=flagged")
    assert admin_client.get(tile.url).context["cl"].result_count == 3


def test_every_connection_shows_its_health_and_an_outage_is_red(client, settings):
    settings.CONNECTION_OUTAGE_ALERT_MINUTES = 15
    now = timezone.now()
    f.ConnectionFactory(name="Sage 300", system="sage_300", last_success_at=now)
    f.ConnectionFactory(
        name="Sage X3",
        system="sage_x3",
        failing_since=now - timedelta(minutes=2),
        last_failure_reason=UNREACHABLE,
    )
    f.ConnectionFactory(
        name="PayTrace",
        system="paytrace",
        failing_since=now - timedelta(hours=1),
        outage_alerted_at=now,
        last_failure_reason=UNREACHABLE,
    )
    client.force_login(f.UserFactory(username="root", is_superuser=True))
    page = client.get(reverse("admin:index")).content.decode()

    def tile(slug: str) -> str:
        start = page.index(f'id="tile-health-{slug}"')
        return page[page.rindex("<div", 0, start) : page.index("</div>\n    </div>", start)]

    assert 'class="tile"' in tile("sage-300") and ">ok<" in tile("sage-300")
    assert 'class="tile failing"' in tile("sage-x3") and ">failing<" in tile("sage-x3")
    assert UNREACHABLE in tile("sage-x3")
    assert 'class="tile outage"' in tile("paytrace") and ">down<" in tile("paytrace")
    assert "#dashboard .tile.outage" in page and "#ba2121" in page  # the outage style is the red one


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the copies are PostgreSQL triggers'")
def test_the_copies_the_dashboard_reads_follow_every_change():
    since = _day_start(NOW) - timedelta(days=CHART_DAYS - 1)
    inside = since + timedelta(days=2)
    erp_a = f.ConnectionFactory(name="erp-a", system="sage_300")
    erp_b = f.ConnectionFactory(name="erp-b", system="sage_x3")
    posting = posted(erp=erp_a, occurred_at=inside, lag_minutes=30)
    attempt(posting, number=1, started_at=inside, outcome="posted")
    posting.refresh_from_db()
    assert posting.transaction_occurred_at == inside
    assert ErpPostingAttempt.objects.get(posting=posting).connection_id == erp_a.pk

    # The payment's time corrected, the posting moved to another payment and another connection.
    type(posting.transaction).objects.filter(pk=posting.transaction_id).update(
        occurred_at=inside - timedelta(minutes=30)
    )
    assert dashboard_posting_lag(since=since) == reference_posting_lag(since=since)
    assert dashboard_posting_lag(since=since).longest == timedelta(minutes=60)
    other = f.TransactionFactory(occurred_at=inside - timedelta(hours=2))
    ErpPosting.objects.filter(pk=posting.pk).update(transaction=other, connection=erp_b)
    assert dashboard_posting_lag(since=since) == reference_posting_lag(since=since)
    assert dashboard_posting_lag(since=since).longest == timedelta(minutes=150)
    assert dashboard_connection_rates(since=since) == reference_connection_rates(since=since)
    assert {rate.name: rate.attempts for rate in dashboard_connection_rates(since=since)} == {
        "erp-a": 0,
        "erp-b": 1,
    }
    ErpPosting.objects.filter(pk=posting.pk).update(transaction=None)
    assert dashboard_posting_lag(since=since) == reference_posting_lag(since=since)
    assert dashboard_posting_lag(since=since).count == 0
