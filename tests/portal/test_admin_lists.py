"""The money lists: a payment found by what finance has in hand (last four, amount, invoice or ERP document
number, order id, name, email), date ranges, totals, estimated counts, sorting and the CSV export."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditEvent
from payments.models import Allocation, Transaction
from portal.admin_lists import counting, totals
from portal.admin_lists.export import csv_cell
from portal.admin_lists.recognise import Kind, search_term_classify
from portal.roles import AUDITOR
from tests import factories as f
from tests.staff import staff_user

TRANSACTIONS = reverse("admin:payments_transaction_changelist")
EXPORT = reverse("admin:payments_transaction_export")


@pytest.mark.parametrize(
    ("term", "kinds"),
    [
        ("5439", {Kind.LAST_FOUR, Kind.AMOUNT, Kind.REFERENCE}),
        ("4500.00", {Kind.AMOUNT, Kind.REFERENCE}),
        ("4,500", {Kind.AMOUNT}),
        ("$4,500.00", {Kind.AMOUNT}),
        ("INV-5006", {Kind.REFERENCE, Kind.NAME}),
        ("CA2-1", {Kind.REFERENCE, Kind.NAME}),
        ("123456789", {Kind.AMOUNT, Kind.REFERENCE}),
        ("Jane.Doe@Example.com", {Kind.EMAIL}),
        ("Acme Outdoor", {Kind.NAME}),
        ("ab", {Kind.REFERENCE}),
        ("4.500,00", set()),
    ],
)
def test_a_term_is_recognised_for_what_it_may_be(term, kinds):
    assert search_term_classify(term=term).kinds == kinds


def test_an_amount_is_read_as_a_decimal_and_an_email_in_lower_case():
    assert search_term_classify(term="4,500").amount == Decimal("4500")
    assert search_term_classify(term=" Jane@Example.COM ").text == "jane@example.com"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Acme", "Acme"),
        (Decimal("-12.50"), Decimal("-12.50")),
        (None, ""),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_quoted(value, written):
    assert csv_cell(value) == written


@pytest.fixture
def superuser_client(client):
    client.force_login(f.UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def payment_world():
    """One payment of 4,500.00 by card ending 5439, its order, invoice, ERP receipt and customer; and
    others that none of the searches should find."""
    paytrace = f.ConnectionFactory()
    erp = f.ConnectionFactory(system="sage_300")
    customer = f.CustomerFactory(name="Acme Outdoor Supply", email="Billing@Acme-Outdoor.example")
    order = f.OrderFactory(order_id="WEB-70001", erp_connection=erp, customer=customer)
    sale = f.TransactionFactory(
        connection=paytrace,
        transaction_id="880001",
        amount=Decimal("4500.00"),
        last4="5439",
        customer=customer,
        order=order,
        invoice_reference="PO-77",
        email="payer@acme-outdoor.example",
    )
    invoice = f.InvoiceFactory(connection=erp, customer=customer, invoice_number="INV-5006")
    Allocation.objects.create(
        payment=sale, invoice=invoice, amount=Decimal("10"), currency="USD", rule="reference"
    )
    f.ErpPostingFactory(connection=erp, transaction=sale, status="posted", erp_document_number="CA2-1")
    other_customer = f.CustomerFactory(name="Birch Lane Cafe", email="cafe@birch.example")
    for n in range(3):
        f.TransactionFactory(
            connection=paytrace,
            transaction_id=f"99000{n}",
            amount=Decimal("12.00"),
            last4="1111",
            customer=other_customer,
        )
    return sale


def listed_ids(response) -> set[str]:
    return {row.transaction_id for row in response.context["cl"].result_list}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "term",
    ["5439", "4500.00", "4,500", "INV-5006", "inv-5006", "CA2-1", "WEB-70001", "880001", "PO-77",
     "Outdoor Sup", "acme outdoor", "billing@acme-outdoor.example", "PAYER@acme-outdoor.example"],
)  # fmt: skip
def test_a_transaction_is_found_by_what_finance_has_in_hand(superuser_client, payment_world, term):
    response = superuser_client.get(TRANSACTIONS, {"q": term})
    assert response.status_code == 200
    assert listed_ids(response) == {"880001"}


@pytest.mark.django_db
def test_a_search_that_matches_nothing_lists_nothing(superuser_client, payment_world):
    assert listed_ids(superuser_client.get(TRANSACTIONS, {"q": "9999"})) == set()
    assert listed_ids(superuser_client.get(TRANSACTIONS, {"q": "nobody@nowhere.example"})) == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "term", "expected"),
    [
        ("admin:payments_invoice_changelist", "INV-5006", "INV-5006"),
        ("admin:payments_invoice_changelist", "acme", "INV-5006"),
        ("admin:integrations_erpposting_changelist", "CA2-1", "CA2-1"),
        ("admin:integrations_erpposting_changelist", "880001", "CA2-1"),
        ("admin:payments_allocation_changelist", "INV-5006", "INV-5006"),
        ("admin:customers_customer_changelist", "billing@acme-outdoor.example", "Acme Outdoor Supply"),
        ("admin:customers_customer_changelist", "outdoor", "Acme Outdoor Supply"),
    ],
)
def test_the_other_money_lists_find_the_same_payment(superuser_client, payment_world, url, term, expected):
    response = superuser_client.get(reverse(url), {"q": term})
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert len(rows) == 1
    assert expected in response.content.decode()


@pytest.mark.django_db
def test_a_search_across_relations_repeats_no_row_and_runs_no_distinct(superuser_client, payment_world):
    invoice = f.InvoiceFactory(
        connection=payment_world.allocations.get().invoice.connection, invoice_number="INV-5007"
    )
    Allocation.objects.create(
        payment=payment_world, invoice=invoice, amount=Decimal("10"), currency="USD", rule="reference"
    )
    # A reference is looked up whole: "INV-500" is no invoice's number.
    response = superuser_client.get(TRANSACTIONS, {"q": "INV-500"})
    assert [row.transaction_id for row in response.context["cl"].result_list] == []
    response = superuser_client.get(TRANSACTIONS, {"q": "INV-5007"})
    assert [row.transaction_id for row in response.context["cl"].result_list] == ["880001"]
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(TRANSACTIONS, {"q": "Acme Outdoor Supply"})
    assert [row.transaction_id for row in response.context["cl"].result_list] == ["880001"]
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]


@pytest.mark.django_db
def test_a_date_range_narrows_the_list(superuser_client, payment_world):
    Transaction.objects.filter(pk=payment_world.pk).update(occurred_at=timezone.now() - timedelta(days=40))
    today = timezone.localdate()
    response = superuser_client.get(
        TRANSACTIONS,
        {"occurred_at__range__gte": (today - timedelta(days=41)).isoformat(),
         "occurred_at__range__lte": (today - timedelta(days=39)).isoformat()},
    )  # fmt: skip
    assert listed_ids(response) == {"880001"}
    assert "date_hierarchy" not in response.content.decode()  # no drill-down over the whole table


@pytest.mark.django_db
def test_totals_of_the_filtered_rows_per_currency(superuser_client, payment_world):
    f.TransactionFactory(connection=payment_world.connection, amount=Decimal("7.25"), currency="CAD")
    response = superuser_client.get(TRANSACTIONS, {"q": "1111"})
    totals = {row.currency: row for row in response.context["list_totals"]}
    assert set(totals) == {"USD"}
    assert totals["USD"].rows == 3
    assert dict(totals["USD"].sums)["Amount"] == Decimal("36.00")
    everything = superuser_client.get(TRANSACTIONS)
    page = everything.content.decode()
    assert 'id="list-totals"' in page
    assert "CAD 7.25" in page and "USD 4,536.00" in page


@pytest.mark.django_db
def test_a_big_list_shows_an_estimated_count_and_says_so(superuser_client, payment_world, monkeypatch):
    monkeypatch.setattr(counting, "EXACT_COUNT_BELOW", 1)
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(TRANSACTIONS)
    page = response.content.decode()
    assert "about" in page
    assert 'class="estimated-count"' in page
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "Totals are shown once the list is narrowed" in page


@pytest.mark.django_db
def test_a_broad_exact_match_is_counted_but_not_summed_and_says_so(
    superuser_client, payment_world, monkeypatch
):
    monkeypatch.setattr(totals, "TOTALS_BELOW", 3)
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(TRANSACTIONS)  # four rows: at or over the bound
    page = response.content.decode()
    assert "estimated-count" not in page  # counted exactly
    assert response.context["list_totals"] == []
    assert not [q for q in queries.captured_queries if "SUM(" in q["sql"].upper()]
    assert "Totals are shown once the list is narrowed to fewer than 3 rows" in page
    narrowed = superuser_client.get(TRANSACTIONS, {"q": "1111"})  # three rows: still over
    assert narrowed.context["list_totals"] == []
    monkeypatch.setattr(totals, "TOTALS_BELOW", 4)
    narrowed = superuser_client.get(TRANSACTIONS, {"q": "1111"})
    assert [row.rows for row in narrowed.context["list_totals"]] == [3]
    assert "Totals are shown once" not in narrowed.content.decode()


@pytest.mark.django_db
def test_a_few_rows_dear_to_read_are_estimated_not_counted(superuser_client, payment_world, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the planner's estimate is PostgreSQL's")
    monkeypatch.setattr(counting, "EXACT_COUNT_COST_BELOW", 0)  # every plan costs more than nothing
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(TRANSACTIONS)
    assert 'class="estimated-count"' in response.content.decode()
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert response.context["list_totals"] == []


@pytest.mark.django_db
def test_a_small_list_is_counted_exactly_once(superuser_client, payment_world):
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(TRANSACTIONS)
    assert "estimated-count" not in response.content.decode()
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"].upper()]
    assert len(counts) == 1, counts


@pytest.mark.django_db
def test_only_indexed_columns_sort(superuser_client, payment_world):
    cl = superuser_client.get(TRANSACTIONS).context["cl"]
    assert set(cl.sortable_by) == {"transaction_id", "amount_money", "occurred_at"}
    customer_column = cl.list_display.index("customer_name")
    response = superuser_client.get(TRANSACTIONS, {"o": str(customer_column)})
    assert "customer__name" not in str(response.context["cl"].queryset.query).split("ORDER BY")[-1]
    amount_column = cl.list_display.index("amount_money")
    ordered = superuser_client.get(TRANSACTIONS, {"o": f"-{amount_column}"})
    assert ordered.context["cl"].result_list[0].transaction_id == "880001"


@pytest.mark.django_db
def test_the_export_is_exactly_the_filtered_list_streamed_and_escaped(superuser_client, payment_world):
    Transaction.objects.filter(transaction_id="990000").update(billing_name="=cmd|' /C calc'!A0")
    page = superuser_client.get(TRANSACTIONS, {"q": "1111", "o": "1"}).content.decode()
    assert f'href="{EXPORT}?o=1&amp;q=1111"' in page
    response = superuser_client.get(EXPORT, {"q": "1111", "o": "1"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[0] == "PayTrace transaction id"
    assert sorted(row[0] for row in body) == ["990000", "990001", "990002"]
    assert {row[header.index("Status")] for row in body} == {"Approved, pending settlement"}
    assert {row[header.index("Amount")] for row in body} == {"12.00"}
    assert "5439" not in str(rows) and "1111" not in str(body) and "VISA" not in str(rows)
    event = AuditEvent.objects.get(action="list.export")
    assert event.actor.username == "root"
    assert "q=1111" in event.reason


@pytest.mark.django_db
def test_a_name_cell_that_is_a_formula_is_quoted_in_the_export(superuser_client, payment_world):
    payment_world.customer.name = '=HYPERLINK("http://evil")'
    payment_world.customer.save()
    response = superuser_client.get(EXPORT, {"q": "880001"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][rows[0].index("Customer")] == '\'=HYPERLINK("http://evil")'


@pytest.mark.django_db
def test_the_export_needs_the_view_permission(client, payment_world):
    client.force_login(f.UserFactory(username="no-rights", is_staff=True))
    assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.filter(action="list.export").exists()
    client.force_login(staff_user(role=AUDITOR))
    assert client.get(EXPORT).status_code == 200


MONEY_LISTS = [
    ("admin:payments_transaction_changelist", "occurred_at"),
    ("admin:integrations_erpposting_changelist", "created_at"),
    ("admin:payments_invoice_changelist", "issued_on"),
    ("admin:payments_allocation_changelist", "created_at"),
    ("admin:payments_creditmemo_changelist", "created_at"),
    ("admin:payments_journalentry_changelist", "entry_date"),
    ("admin:payments_settlementbatch_changelist", "settled_at"),
    ("admin:payments_subscription_changelist", "next_run_on"),
    ("admin:payments_order_changelist", "created_at"),
    ("admin:payments_reconciliationexception_changelist", "created_at"),
    ("admin:payments_riskassessment_changelist", "created_at"),
    ("admin:customers_customer_changelist", "created_at"),
    ("admin:integrations_webhookevent_changelist", "created_at"),
    ("admin:integrations_erppostingattempt_changelist", "started_at"),
]


def add_payments(count: int) -> None:
    for _ in range(count):
        customer = f.CustomerFactory(name="Acme Outdoor Supply")
        sale = f.TransactionFactory(customer=customer, amount=Decimal("4500.00"))
        erp = f.ConnectionFactory(system="sage_300")
        f.ErpPostingFactory(connection=erp, transaction=sale)
        invoice = f.InvoiceFactory(connection=erp, customer=customer, amount=Decimal("4500.00"))
        Allocation.objects.create(
            payment=sale, invoice=invoice, amount=Decimal("1"), currency="USD", rule="manual"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "date_field"), MONEY_LISTS)
def test_searched_filtered_lists_keep_their_query_count_and_never_distinct(
    superuser_client, payment_world, url, date_field
):
    query = {"q": "acme", f"{date_field}__range__gte": "2000-01-01"}
    add_payments(2)
    with CaptureQueriesContext(connection) as small:
        assert superuser_client.get(reverse(url), query).status_code == 200
    add_payments(8)
    with CaptureQueriesContext(connection) as large:
        response = superuser_client.get(reverse(url), query)
    assert response.status_code == 200
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert not [q["sql"] for q in large.captured_queries if "SELECT DISTINCT" in q["sql"].upper()]
    assert "date_hierarchy" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["evt_880001", "880001"])
def test_an_inbox_event_is_found_by_its_id_or_its_payment(superuser_client, payment_world, term):
    f.WebhookEventFactory(event_id="evt_880001", transaction=payment_world)
    f.WebhookEventFactory(event_id="evt_990000")
    response = superuser_client.get(reverse("admin:integrations_webhookevent_changelist"), {"q": term})
    assert [event.event_id for event in response.context["cl"].result_list] == ["evt_880001"]
