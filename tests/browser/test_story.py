"""Following a payment in a real browser (issue 15): approve from the payment's own page, resolve a
duplicate by choosing the survivor, and see an outage in red. The browser, the login and the demo world are
test_workspace's."""

from datetime import timedelta

from django.utils import timezone
from django.utils.text import slugify

from customers.models import Customer, CustomerLink, DuplicateCandidate
from integrations.models import AuditEvent, Connection, ErpPosting
from integrations.outbox.poster import postings_post_due
from payments.models import RiskAssessment, Transaction
from payments.services.postings import postings_plan_for_transaction
from portal.roles import FINANCE_REVIEWER
from tests.browser import test_workspace as workspace
from tests.browser.test_workspace import async_unsafe_allowed, browser, open_page  # noqa: F401  (fixtures)
from tests.factories import CustomerFactory, TransactionFactory
from tests.staff import staff_user

pytestmark = workspace.pytestmark
RED = "rgb(186, 33, 33)"  # the admin's error colour, --error-fg


def test_reviewer_approves_from_the_payments_page_and_sees_its_erp_number(open_page, demo_world):  # noqa: F811
    sale = workspace.payment(demo_world)
    (posting,) = postings_plan_for_transaction(transaction=sale, held=True)
    reasons = [{"code": "new_customer_large_amount", "points": 40, "detail": "first payment, 1250.00"}]
    RiskAssessment.objects.create(transaction=sale, score=85, status="flagged", reasons=reasons)
    page = open_page(staff_user(role=FINANCE_REVIEWER))
    story = f"/admin/payments/transaction/{sale.pk}/change/"

    page.goto(story)
    assert page.inner_text("#story-risk .risk-score") == "85"
    assert "first payment, 1250.00" in page.inner_text("#story-risk")
    assert "Held for review" in page.inner_text("#story-postings")
    workspace.shot(page, "payment-story-flagged")
    page.click("#story-risk button[data-action=approve]")
    confirmation = page.inner_text("#content")
    assert f"Sale {sale.transaction_id} of USD 1250.00" in confirmation and "score 85" in confirmation
    page.fill("#id_reason", "customer confirmed the order by phone")
    page.click('input[type=submit][value^="Yes"]')
    page.wait_for_selector(".messagelist")
    assert "approved and released to the ERP" in page.inner_text(".messagelist")
    assert page.url.endswith(story)  # back on the payment's page
    assert not page.locator("#story-risk button[data-action=approve]").count()

    postings_post_due(time_budget_seconds=30)  # what the one-minute schedule does
    page.reload()
    posting.refresh_from_db()
    assert posting.status == ErpPosting.Status.POSTED and posting.erp_document_number
    assert posting.erp_document_number in page.inner_text("#story-postings .erp-number")
    assert "customer confirmed the order by phone" in page.inner_text("#story-audit")
    workspace.shot(page, "payment-story-approved")


def test_reviewer_resolves_a_duplicate_by_choosing_the_survivor(open_page, demo_world):  # noqa: F811
    kept = CustomerLink.objects.get(
        connection=demo_world["connections"]["paytrace"], external_id="C1001"
    ).customer
    twin = CustomerFactory(name=kept.name, email=f"orders+{kept.email}")
    paid = TransactionFactory(
        connection=demo_world["connections"]["paytrace"], customer=twin, transaction_id="7777"
    )
    first, second = sorted([kept, twin], key=lambda customer: customer.pk)
    candidate = DuplicateCandidate.objects.create(
        customer=first, other=second, reason="same name and address"
    )
    page = open_page(staff_user(role=FINANCE_REVIEWER))

    page.goto("/admin/customers/duplicatecandidate/?status__exact=open")
    page.click(f'#result_list a[href*="/duplicatecandidate/{candidate.pk}/change/"]')
    page.click(".object-tools button[data-action=same_customer]")
    page.check(f'input[name="keep"][value="{kept.pk}"]')
    page.fill("#id_reason", "one company; the storefront made a second record")
    workspace.shot(page, "duplicate-choose-survivor")
    page.click('input[type=submit][value^="Yes"]')
    page.wait_for_selector(".messagelist")

    assert f"Merged {twin}" in page.inner_text(".messagelist")
    assert not Customer.objects.filter(pk=twin.pk).exists()
    assert Transaction.objects.get(pk=paid.pk).customer_id == kept.pk
    page.goto(f"/admin/customers/customer/{kept.pk}/change/")
    assert "7777" in page.inner_text("#customer-payments")  # the twin's payment, now the survivor's
    workspace.shot(page, "duplicate-merged")
    assert AuditEvent.objects.filter(action="duplicate.same", actor__username="finance-reviewer").exists()


def test_an_outage_shows_red_on_the_dashboard_and_the_connections_page(open_page, demo_world):  # noqa: F811
    sage = Connection.objects.get(pk=demo_world["connections"]["sage_300"].pk)
    sage.failing_since = timezone.now() - timedelta(minutes=10)
    sage.last_failure_at = timezone.now()
    sage.last_failure_reason = "unreachable"
    sage.save()
    page = open_page(staff_user(role=None, username="ops"))  # connections are an integration admin's page

    tile = page.locator(f"#tile-health-{slugify(sage.name)}")
    assert sage.name.upper() in tile.inner_text().upper() and "down" in tile.locator(".figure").inner_text()
    assert tile.locator(".figure").evaluate("node => getComputedStyle(node).color") == RED
    workspace.shot(page, "dashboard-outage")

    page.goto("/admin/integrations/connection/")
    health = page.locator("#result_list .health-down")
    assert "DOWN since" in health.inner_text() and "unreachable" in health.inner_text()
    assert health.evaluate("node => getComputedStyle(node).color") == RED
    workspace.shot(page, "connections-outage")
