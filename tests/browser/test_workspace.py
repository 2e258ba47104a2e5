"""The finance workspace in a real browser: Debian's chromium, driven by Playwright, against the live server
with the demo world (sandbox PayTrace and ERPs over real HTTP). Screenshots go to test-artifacts/."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from customers.models import CustomerLink
from integrations.models import AuditEvent, ErpPosting, PaymentMethodMapping, StatusMapping
from integrations.outbox.poster import postings_post_due
from payments.models import RiskAssessment
from payments.services.postings import postings_plan_for_transaction
from portal.roles import FINANCE_REVIEWER, INTEGRATION_ADMIN
from tests.factories import TransactionFactory
from tests.staff import staff_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = settings.BASE_DIR / "test-artifacts"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium; CI does)"
    ),
]


@pytest.fixture(scope="module", autouse=True)
def async_unsafe_allowed():
    """Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are still
    synchronous and safe, which Django cannot tell on its own. Set for this module only: a process started
    by another test must not inherit it (`check --deploy` refuses it, rightly)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(async_unsafe_allowed):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """`open_page(user)`: a fresh browser session logged in as `user`."""
    contexts = []

    def open_for(user):
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#dashboard")
        return page

    yield open_for
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def run_action(page, *, changelist: str, pk: int, action: str, reason: str) -> None:
    page.goto(changelist)
    page.check(f'input[name="_selected_action"][value="{pk}"]')
    page.select_option('select[name="action"]', action)
    page.click('button[name="index"]')
    page.fill("#id_reason", reason)
    page.click('input[type=submit][value^="Yes"]')
    page.wait_for_selector(".messagelist")


def payment(demo_world, *, customer="C1001", amount="1250.00", invoice="INV-5001"):
    paytrace = demo_world["connections"]["paytrace"]
    link = CustomerLink.objects.get(connection=paytrace, external_id=customer)
    return TransactionFactory(
        connection=paytrace, customer=link.customer, amount=Decimal(amount), invoice_reference=invoice
    )


def test_dashboard_and_its_charts_render(open_page, demo_world):
    sale = payment(demo_world)
    postings_plan_for_transaction(transaction=sale)
    postings_post_due(time_budget_seconds=30)
    page = open_page(staff_user(role=FINANCE_REVIEWER))
    assert page.locator("svg.chart").count() == 3
    assert page.locator("#chart-payments rect.bar").count() == 1
    assert page.locator("#chart-payments svg").bounding_box()["height"] > 100
    assert "USD 1,250.00" in page.inner_text("#tile-today")
    assert "Sage 300 (sandbox)" in page.inner_text("#connection-rates")
    shot(page, "dashboard")


def test_reviewer_approves_a_flagged_payment_and_sees_it_posted(open_page, demo_world):
    sale = payment(demo_world)
    (posting,) = postings_plan_for_transaction(transaction=sale, held=True)
    reasons = [{"code": "new_customer_large_amount", "points": 40, "detail": "first payment, 1250.00"}]
    assessment = RiskAssessment.objects.create(transaction=sale, score=85, status="flagged", reasons=reasons)
    page = open_page(staff_user(role=FINANCE_REVIEWER))
    page.click("#tile-queue-riskassessment a")
    assert sale.transaction_id in page.inner_text("#result_list")
    shot(page, "flagged-queue")

    run_action(
        page,
        changelist="/admin/payments/riskassessment/?status__exact=flagged",
        pk=assessment.pk,
        action="approve",
        reason="customer confirmed the order by phone",
    )
    assert "approved and released to the ERP" in page.inner_text(".messagelist")
    postings_post_due(time_budget_seconds=30)  # what the one-minute schedule does

    page.goto(f"/admin/integrations/erpposting/?q={posting.reference}")
    assert "Posted" in page.inner_text("#result_list")
    shot(page, "flagged-approved-posted")
    posting.refresh_from_db()
    assert posting.status == ErpPosting.Status.POSTED and posting.erp_document_number


def test_integrator_fixes_the_mapping_and_reviewer_replays_the_dead_letter(open_page, demo_world):
    removed = PaymentMethodMapping.objects.get(
        erp="sage_300", payment_method="card", card_brand="", currency=""
    )
    code, bank = removed.erp_payment_code, removed.bank_code
    removed.delete()
    sale = payment(demo_world)
    (posting,) = postings_plan_for_transaction(transaction=sale)
    postings_post_due(time_budget_seconds=30)
    posting.refresh_from_db()
    assert posting.status == ErpPosting.Status.DEAD

    integrator = open_page(staff_user(role=INTEGRATION_ADMIN))
    integrator.goto(f"/admin/integrations/erpposting/{posting.pk}/change/")
    assert "No payment method mapping for sage_300 / card" in integrator.inner_text(".erp-message")
    shot(integrator, "dead-letter")
    integrator.click(".mapping-links a:has-text('payment method mappings')")
    integrator.click(".object-tools a.addlink")
    integrator.select_option("#id_erp", "sage_300")
    integrator.select_option("#id_payment_method", "card")
    integrator.fill("#id_erp_payment_code", code)
    integrator.fill("#id_bank_code", bank)
    integrator.click("input[name=_save]")
    assert "was added successfully" in integrator.inner_text(".messagelist")

    reviewer = open_page(staff_user(role=FINANCE_REVIEWER))
    run_action(
        reviewer,
        changelist="/admin/integrations/erpposting/?status__exact=dead",
        pk=posting.pk,
        action="replay_dead_letters",
        reason="card payment mapping added",
    )
    postings_post_due(time_budget_seconds=30)
    reviewer.goto(f"/admin/integrations/erpposting/{posting.pk}/change/")
    assert "Posted" in reviewer.inner_text("fieldset")
    shot(reviewer, "dead-letter-replayed")
    assert AuditEvent.objects.filter(action="posting.replay", actor__username="finance-reviewer").exists()


def test_mapping_file_is_imported_after_its_diff_preview(open_page, demo_world, tmp_path):
    page = open_page(staff_user(role=INTEGRATION_ADMIN))
    page.goto("/admin/integrations/mappingsnapshot/")
    with page.expect_download() as download:
        page.click("#export-mappings")
    exported = tmp_path / "mappings.json"
    download.value.save_as(exported)
    declined = StatusMapping.objects.filter(erp="sage_x3", paytrace_status="declined")
    exported_status = declined.get().erp_status
    declined.update(erp_status="Refused")

    page.click("#import-mappings")
    page.set_input_files("#id_file", str(exported))
    page.click("#preview-import")
    diff = page.inner_text("#mapping-diff")
    assert "status_mappings" in diff and "sage_x3 / declined" in diff and "Refused" in diff
    assert StatusMapping.objects.get(erp="sage_x3", paytrace_status="declined").erp_status == "Refused"
    shot(page, "mapping-import-preview")

    page.fill("#id_reason", "promote the tested set")
    page.click("#apply-import")
    assert "1 changed" in page.inner_text(".messagelist")
    shot(page, "mapping-imported")
    assert declined.get().erp_status == exported_status
