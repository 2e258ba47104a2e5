"""The money lists in a real browser at a 1366 px laptop width: a payment found by its last four and by its
invoice number, the amount and ERP columns on screen, and a filtered list exported to CSV."""

import csv
from decimal import Decimal

import pytest

from integrations.models import AuditEvent
from payments.models import Transaction
from portal.roles import FINANCE_REVIEWER
from tests.browser.test_workspace import (  # noqa: F401  (fixtures)
    CHROMIUM,
    async_unsafe_allowed,
    browser,
    open_page,
    payment,
    shot,
)
from tests.staff import staff_user

LAPTOP = {"width": 1366, "height": 768}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium; CI does)"
    ),
]


def search(page, *, changelist: str, term: str) -> str:
    page.goto(changelist)
    page.fill("#searchbar", term)
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#changelist")
    return page.inner_text("#result_list") if page.locator("#result_list").count() else ""


def right_edge(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"]


def laptop_page(open_page):  # noqa: F811
    page = open_page(staff_user(role=FINANCE_REVIEWER))
    page.set_viewport_size(LAPTOP)
    return page


def test_a_payment_is_found_by_its_last_four_and_its_amount_is_on_screen(open_page, demo_world):  # noqa: F811
    sale = payment(demo_world, amount="4500.00")
    Transaction.objects.filter(pk=sale.pk).update(last4="5439")
    other = payment(demo_world, amount="12.00")
    Transaction.objects.filter(pk=other.pk).update(last4="1111")
    page = laptop_page(open_page)

    listed = search(page, changelist="/admin/payments/transaction/", term="5439")
    assert sale.transaction_id in listed and other.transaction_id not in listed
    assert "USD 4,500.00" in listed
    for column in ("td.field-amount_money", "td.field-erp_documents"):
        assert right_edge(page, f"#result_list {column}") <= LAPTOP["width"], column
    assert "USD 4,500.00" in page.inner_text("#list-totals")
    shot(page, "transactions-by-last-four")


def test_a_payment_and_its_invoice_are_found_by_the_invoice_number(open_page, demo_world):  # noqa: F811
    sale = payment(demo_world, amount="4500.00", invoice="INV-5006")
    payment(demo_world, amount="12.00", invoice="INV-5001")
    page = laptop_page(open_page)

    listed = search(page, changelist="/admin/payments/transaction/", term="INV-5006")
    assert sale.transaction_id in listed
    assert page.locator("#result_list tbody tr").count() == 1
    shot(page, "transactions-by-invoice-number")

    listed = search(page, changelist="/admin/payments/invoice/", term="inv-5006")
    assert "INV-5006" in listed
    for column in ("td.field-amount_money", "td.field-balance_money"):
        assert right_edge(page, f"#result_list {column}") <= LAPTOP["width"], column
    shot(page, "invoices-by-number")


def test_a_filtered_list_is_exported_as_it_is_shown(open_page, demo_world, tmp_path):  # noqa: F811
    kept = [payment(demo_world, amount="4500.00"), payment(demo_world, amount="20.00")]
    voided = payment(demo_world, amount="30.00")
    Transaction.objects.filter(pk=voided.pk).update(status=Transaction.Status.VOIDED)
    page = laptop_page(open_page)

    page.goto("/admin/payments/transaction/?status__exact=approved")
    assert voided.transaction_id not in page.inner_text("#result_list")
    with page.expect_download() as download:
        page.click("#export-csv")
    exported = tmp_path / "transactions.csv"
    download.value.save_as(exported)
    with exported.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["PayTrace transaction id"] for row in rows} == {sale.transaction_id for sale in kept}
    assert {row["Status"] for row in rows} == {"Approved, pending settlement"}
    assert sorted(Decimal(row["Amount"]) for row in rows) == [Decimal("20.00"), Decimal("4500.00")]
    assert all("5439" not in value for row in rows for value in row.values())
    assert AuditEvent.objects.filter(action="list.export", reason__contains="status__exact=approved").exists()
    shot(page, "transactions-exported")
