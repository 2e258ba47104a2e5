"""The connector suite every ERP's tests subclass: what `ErpConnector` promises, asked of each ERP alike.

A subclass runs it against its ERP (its simulator, over real HTTP) with two fixtures and two attributes:
- fixture `erp`: a connector built from a Connection by `connector_for`, the demo world seeded
  (`simulators.demo_data`: customers C1001..C1006, invoices INV-5001..INV-5008, stock);
- fixture `make_erp(**options)`: another connector to the same ERP with those options changed (timeout,
  receipt_batch_size);
- `erp_facts`: an `ErpFacts`, what differs from one ERP's demo set-up to the next;
- `erp_faults`: its simulator's `SandboxFaults` (or a `faults` fixture whose `inject(**counters)` speaks
  the same vocabulary: error_next, timeout_next, applied_timeout_next, hang_seconds).
ERP-specific behaviour (numbering, payload shapes, quirks) stays in each ERP's own test module."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

import pytest
from django.utils import timezone

from integrations.erps import erp_get
from integrations.sage.base import (
    Address,
    BatchItemResult,
    CreditMemoData,
    CustomerData,
    ErpPermanentError,
    ErpTransientError,
    InvoiceData,
    JournalEntryData,
    JournalLine,
    ReversalData,
    SalesOrderData,
    SalesOrderLine,
)
from integrations.sage.connector import DocumentSent, ErpConnector
from simulators.models import FaultProfile
from tests.integrations.connectors.documents import ErpFacts, receipt, today
from tests.integrations.connectors.invoices import InvoiceSuite

CALL_KEYS = {"method", "url", "status", "duration_ms", "request", "response", "error"}
WRITES = ("POST", "PUT", "PATCH", "WRITE")  # a drop folder's file write is its POST


@dataclass(frozen=True)
class SandboxFaults:
    """The `faults` fixture of an ERP whose simulator is one of ours: its `FaultProfile` for the account."""

    system: str
    account: str

    def inject(self, **counters: float) -> None:
        FaultProfile.objects.update_or_create(system=self.system, account=self.account, defaults=counters)


def journal(facts: ErpFacts, reference: str, *lines: JournalLine) -> JournalEntryData:
    cash, fees, clearing = facts.journal_accounts
    return JournalEntryData(
        reference=reference,
        entry_date=today(),
        currency="USD",
        description=f"Settlement {reference}",
        lines=lines
        or (
            JournalLine(cash, debit=Decimal("97.10")),
            JournalLine(fees, debit=Decimal("2.90")),
            JournalLine(clearing, credit=Decimal("100.00")),
        ),
    )


def reversal(reference: str, paid: BatchItemResult, *, customer: str, amount: str) -> ReversalData:
    """Undo the receipt `paid` posted, by its ERP number."""
    return ReversalData(
        reference=reference,
        original_reference=paid.reference,
        original_document_number=paid.document.number,
        customer_number=customer,
        amount=Decimal(amount),
        currency="USD",
        document_date=today(),
    )


def balance(erp: ErpConnector, invoice: str) -> Decimal:
    return erp.invoice_get(number=invoice).balance


def must_not_build() -> None:
    pytest.fail("a document the ERP already holds was built to be sent again")


def retry(erp: ErpConnector, document_type: str, reference: str) -> DocumentSent:
    """The outbox's next attempt at a posting tried before: it must find, not send."""
    return erp.document_send(
        document_type=document_type, reference=reference, build=must_not_build, retried=True
    )


class ConnectorSuite(InvoiceSuite):
    erp_facts: ClassVar[ErpFacts]
    erp_faults: ClassVar[SandboxFaults]  # or a `faults` fixture of the subclass's own

    @pytest.fixture
    def facts(self) -> ErpFacts:
        return self.erp_facts

    @pytest.fixture
    def faults(self) -> SandboxFaults:
        return self.erp_faults

    def test_built_from_its_connection_with_a_transcript_that_holds_no_secret(self, erp, facts):
        assert isinstance(erp, ErpConnector)
        assert erp_get(erp.system) is not None
        check = erp.connection_test()
        assert check.ok, check.message
        assert erp.customer_get(number="C1001").name == "Acme Outdoor Supply"
        calls = erp.transcript_take()
        assert calls and all(set(call) == CALL_KEYS for call in calls)
        assert facts.secret not in str(calls)
        assert erp.transcript_take() == []
        assert facts.secret not in repr(erp.settings)  # a traceback or a log line shows no credential

    def test_customer_upsert_creates_then_updates_and_the_finders_see_it(self, erp):
        before = timezone.now() - timedelta(seconds=1)
        created = erp.customer_upsert(
            customer=CustomerData(
                name="Granite Peak Gear",
                email="ops@granitepeak.example",
                phone="406-555-0107",
                reference="PT-CUST-77",
                address=Address(
                    line1="1 Main St", city="Bozeman", state="MT", postal_code="59715", country="US"
                ),
            )
        )
        assert created.number
        assert (created.name, created.email, created.address.city) == (
            "Granite Peak Gear",
            "ops@granitepeak.example",
            "Bozeman",
        )
        updated = erp.customer_upsert(
            customer=CustomerData(
                number=created.number, name="Granite Peak Gear Co", email="ops@granitepeak.example"
            )
        )
        assert (updated.number, updated.name) == (created.number, "Granite Peak Gear Co")
        assert erp.customer_get(number=created.number).name == "Granite Peak Gear Co"
        assert erp.customer_get(number="C9999") is None
        assert [c.number for c in erp.customer_find_by_email(email="ops@granitepeak.example")] == [
            created.number
        ]
        assert [c.number for c in erp.customer_find_by_name(name="Birch & Maple Cafe")] == ["C1002"]
        assert erp.customer_find_by_name(name="Nobody's Business") == []
        assert created.number in {c.number for c in erp.customers_changed(since=before)}
        assert len(list(erp.customers_changed(since=None))) == 7

    def test_open_invoices_oldest_first_and_invoice_get(self, erp):
        invoices = erp.invoices_open(customer_number="C1001")
        assert [invoice.number for invoice in invoices] == ["INV-5001", "INV-5002"]
        assert invoices[0].balance == Decimal("1250.00") and isinstance(invoices[0].balance, Decimal)
        assert invoices[1].balance == Decimal("310.40")
        assert invoices[0].issued_on == today() - timedelta(days=45)
        assert invoices[0].due_on == invoices[0].issued_on + timedelta(days=30)
        invoice = erp.invoice_get(number="INV-5003")
        assert (invoice.customer_number, invoice.amount, invoice.reference) == (
            "C1002",
            Decimal("89.99"),
            "WEB-1002",
        )
        assert erp.invoice_get(number="INV-9999") is None

    def test_sales_order_allocates_stock_and_is_found_by_our_reference(self, erp, facts):
        order = SalesOrderData(
            reference="WEB-2001",
            customer_number="C1001",
            currency="USD",
            order_date=today(),
            lines=(SalesOrderLine("TENT-2P", Decimal("2"), Decimal("249.00")),),
            defaults=facts.order_defaults,
        )
        document = erp.sales_order_create(order=order)
        assert document.number and document.reference == "WEB-2001"
        levels = {level.sku: level for level in erp.stock_levels(skus=["TENT-2P", "BAG-20F", "NOPE"])}
        assert set(levels) == {"TENT-2P", "BAG-20F"}
        if facts.publishes_stock:
            assert (levels["TENT-2P"].on_hand, levels["TENT-2P"].allocated) == (Decimal("40"), Decimal("2"))
            assert levels["TENT-2P"].available == Decimal("38")
            assert levels["BAG-20F"].available == Decimal("75")
        assert erp.document_find(document_type="sales_order", reference="WEB-2001").number == document.number
        assert erp.document_find(document_type="sales_order", reference="WEB-NONE") is None
        unknown = SalesOrderData(
            **{
                **order.__dict__,
                "reference": "WEB-2002",
                "lines": (SalesOrderLine("NOPE", Decimal("1"), Decimal("1.00")),),
            }
        )
        with pytest.raises(ErpPermanentError, match="NOPE"):
            erp.sales_order_create(order=unknown)
        assert erp.document_find(document_type="sales_order", reference="WEB-2002") is None

    def test_receipts_go_in_batches_applied_to_invoices(self, make_erp, facts):
        erp = make_erp(receipt_batch_size=2)
        assert erp.receipt_batch_size == 2
        erp.transcript_take()
        results = erp.receipts_post(
            receipts=[
                receipt(facts, "PT-9001", "C1001", "1500.00", ("INV-5001", "1250.00")),  # 250.00 on account
                receipt(facts, "PT-9002", "C1003", "100.00", ("INV-5005", "100.00")),
                receipt(facts, "PT-9003", "C1005", "20.00"),  # nothing to apply: all on account
            ]
        )
        assert [result.reference for result in results] == ["PT-9001", "PT-9002", "PT-9003"]
        assert [result.error for result in results] == [None, None, None]
        writes = [call for call in erp.transcript_take() if call["method"] in WRITES]
        assert len(writes) == 2 * facts.writes_per_receipt_batch  # three receipts, two round trips
        assert balance(erp, "INV-5001") == 0
        assert balance(erp, "INV-5005") == Decimal("50.00")
        assert [invoice.number for invoice in erp.invoices_open(customer_number="C1001")] == ["INV-5002"]
        found = erp.document_find(document_type="receipt", reference="PT-9001")
        assert found.number == results[0].document.number
        assert erp.document_find(document_type="receipt", reference="PT-0000") is None

    def test_one_bad_receipt_fails_alone(self, erp, facts):
        good, unknown, over, other = erp.receipts_post(
            receipts=[
                receipt(facts, "PT-9101", "C1001", "10.00", ("INV-5002", "10.00")),
                receipt(facts, "PT-9102", "C0000", "10.00"),
                receipt(facts, "PT-9103", "C1002", "500.00", ("INV-5003", "500.00")),  # over its balance
                receipt(facts, "PT-9104", "C1003", "10.00", ("INV-5005", "10.00")),
            ]
        )
        assert good.document is not None and other.document is not None
        assert isinstance(unknown.error, ErpPermanentError) and "C0000" in unknown.error.message
        assert isinstance(over.error, ErpPermanentError) and unknown.document is None
        assert (balance(erp, "INV-5002"), balance(erp, "INV-5003")) == (Decimal("300.40"), Decimal("89.99"))
        assert erp.document_find(document_type="receipt", reference="PT-9102") is None

    def test_reversal_reopens_the_invoice_once(self, erp, facts):
        paying = receipt(facts, "PT-9301", "C1004", "780.25", ("INV-5006", "780.25"))
        [paid] = erp.receipts_post(receipts=[paying])
        assert balance(erp, "INV-5006") == 0
        document = erp.receipt_reverse(
            reversal=reversal("PT-9301-V", paid, customer="C1004", amount="780.25")
        )
        assert document.number and (document.document_type, document.reference) == ("reversal", "PT-9301-V")
        assert balance(erp, "INV-5006") == Decimal("780.25")
        assert erp.document_find(document_type="reversal", reference="PT-9301-V").number == document.number
        with pytest.raises(ErpPermanentError):
            erp.receipt_reverse(reversal=reversal("PT-9301-W", paid, customer="C1004", amount="780.25"))
        assert balance(erp, "INV-5006") == Decimal("780.25")

    def test_invoice_we_raise_is_open_found_by_our_reference_and_paid_by_a_receipt(self, erp, facts):
        raised = InvoiceData(
            reference="SUB-7-20261101",
            customer_number="C1002",
            amount=Decimal("49.00"),
            currency="USD",
            invoice_date=today(),
            due_date=today(),
            description="Monthly plan",
            account=facts.invoice_account,
            defaults=facts.invoice_defaults,
        )
        document = erp.invoice_create(invoice=raised)
        assert document.number and (document.document_type, document.reference) == (
            "invoice",
            raised.reference,
        )
        assert (
            erp.document_find(document_type="invoice", reference=raised.reference).number == document.number
        )
        read = erp.invoice_get(number=document.number)
        assert (read.customer_number, read.amount, read.balance) == (
            "C1002",
            Decimal("49.00"),
            Decimal("49.00"),
        )
        [paid] = erp.receipts_post(
            receipts=[receipt(facts, "PT-9501", "C1002", "49.00", (document.number, "49.00"))]
        )
        assert paid.error is None, paid.error
        assert balance(erp, document.number) == 0

    def test_credit_memo_is_posted_and_found(self, erp, facts):
        memo = CreditMemoData(
            reference="PT-9401",
            customer_number="C1001",
            amount=Decimal("10.00"),
            currency="USD",
            document_date=today(),
            original_reference="PT-9001",
            invoice_number="INV-5002",
            account=facts.refund_account,
        )
        document = erp.credit_memo_post(memo=memo)
        assert document.number and document.document_type == "credit_memo"
        assert erp.document_find(document_type="credit_memo", reference="PT-9401").number == document.number
        assert erp.document_find(document_type="credit_memo", reference="PT-9499") is None

    def test_journal_entry_balanced_and_known_accounts_only(self, erp, facts):
        document = erp.journal_entry_post(entry=journal(facts, "SETTLE-77"))
        assert document.number and document.reference == "SETTLE-77"
        found = erp.document_find(document_type="journal_entry", reference="SETTLE-77")
        assert found.number == document.number
        cash, _, clearing = facts.journal_accounts
        with pytest.raises(ErpPermanentError):
            erp.journal_entry_post(
                entry=journal(
                    facts,
                    "SETTLE-78",
                    JournalLine(cash, debit=Decimal("97.10")),
                    JournalLine(clearing, credit=Decimal("100.00")),
                )
            )
        with pytest.raises(ErpPermanentError, match=facts.unknown_account):
            erp.journal_entry_post(
                entry=journal(
                    facts,
                    "SETTLE-79",
                    JournalLine(facts.unknown_account, debit=Decimal("1.00")),
                    JournalLine(clearing, credit=Decimal("1.00")),
                )
            )
        assert erp.document_find(document_type="journal_entry", reference="SETTLE-78") is None
        assert erp.document_find(document_type="journal_entry", reference="SETTLE-79") is None

    # --- sending exactly once -----------------------------------------------------------------------

    def test_document_send_looks_up_only_a_retry_and_never_sends_twice(self, erp, facts):
        erp.journal_entry_post(entry=journal(facts, "SETTLE-80"))
        direct = len(erp.transcript_take())
        first = erp.document_send(
            document_type="journal_entry",
            reference="SETTLE-81",
            build=lambda: journal(facts, "SETTLE-81"),
            retried=False,
        )
        assert not first.found_existing and first.document.reference == "SETTLE-81"
        assert len(erp.transcript_take()) == direct  # a first attempt costs no look-up
        again = retry(erp, "journal_entry", "SETTLE-81")
        assert again.found_existing and again.document.number == first.document.number

    def test_document_send_upserts_a_customer_numbered_by_our_reference(self, erp):
        def build() -> CustomerData:
            return CustomerData(number="PS-4242", name="Harbor Kayaks", reference="PS-4242")

        sent = erp.document_send(document_type="customer", reference="PS-4242", build=build, retried=False)
        assert (sent.found_existing, sent.document.document_type) == (False, "customer")
        assert sent.document.number and sent.document.reference == "PS-4242"
        assert erp.customer_get(number=sent.document.number).name == "Harbor Kayaks"
        again = retry(erp, "customer", "PS-4242")
        assert again.found_existing and again.document.number == sent.document.number

    # --- faults -------------------------------------------------------------------------------------

    def test_server_error_is_transient_and_not_applied(self, erp, faults, facts):
        faults.inject(error_next=2)
        with pytest.raises(ErpTransientError) as read:
            erp.customer_get(number="C1001")
        assert read.value.http_status == 503 and not read.value.maybe_applied
        with pytest.raises(ErpTransientError) as write:
            erp.journal_entry_post(entry=journal(facts, "SETTLE-503"))
        assert write.value.http_status == 503 and not write.value.maybe_applied
        assert erp.document_find(document_type="journal_entry", reference="SETTLE-503") is None

    def test_timeout_is_transient_and_maybe_applied(self, make_erp, faults, facts):
        erp = make_erp(timeout=0.5)
        faults.inject(timeout_next=1, hang_seconds=1.0)
        with pytest.raises(ErpTransientError) as timeout:
            erp.journal_entry_post(entry=journal(facts, "SETTLE-SLOW"))
        assert timeout.value.maybe_applied and timeout.value.http_status is None
        assert erp.transcript_take()[-1]["error"].startswith("read timeout")
        assert erp.document_find(document_type="journal_entry", reference="SETTLE-SLOW") is None

    def test_applied_but_timed_out_is_found_by_our_reference_and_never_posted_twice(
        self, make_erp, faults, facts
    ):
        erp = make_erp(timeout=0.5)
        faults.inject(applied_timeout_next=1, hang_seconds=1.0)
        late = receipt(facts, "PT-LATE", "C1004", "100.00", ("INV-5006", "100.00"))
        with pytest.raises(ErpTransientError) as lost:
            erp.document_send(document_type="receipt", reference="PT-LATE", build=lambda: late, retried=False)
        assert lost.value.maybe_applied
        found = retry(erp, "receipt", "PT-LATE")
        assert found.found_existing and found.document.number
        assert balance(erp, "INV-5006") == Decimal("680.25")  # applied once
        assert retry(erp, "receipt", "PT-LATE").document.number == found.document.number
        assert balance(erp, "INV-5006") == Decimal("680.25")
