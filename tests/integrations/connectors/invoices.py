"""The invoice checks of the connector suite: invoices read from the ERP, payments applied against the ERP's
balance, drift found — asked of every ERP alike, over HTTP to its simulator (mixed into `ConnectorSuite`).

"Elsewhere" is the ERP's own books moving without us: a receipt posted straight through the connector, as
a cheque keyed in the ERP would be. "Cancelled in the ERP" is an invoice we hold that the ERP does not."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.models import CustomerLink
from integrations.models import Connection, ErpPosting, SyncCursor
from integrations.sage.connector import ErpConnector
from payments.management.commands import reconcile_invoices, sync_invoices
from payments.models import Allocation, Invoice, ReconciliationException
from payments.services.allocations import invoice_balance_change, payment_apply
from payments.services.erp_invoices import erp_invoices_sync
from payments.services.invoice_drift import invoices_reconcile
from portal.dashboard import dashboard_get
from tests.factories import CustomerFactory, InvoiceFactory, TransactionFactory
from tests.integrations.connectors.documents import receipt

D = Decimal


def connection_of(erp: ErpConnector) -> Connection:
    """The Connection the fixture built `erp` from (the newest of its ERP)."""
    return Connection.objects.filter(system=erp.system).latest("pk")


def linked_customer(connection: Connection, number: str):
    customer = CustomerFactory()
    CustomerLink.objects.create(customer=customer, connection=connection, external_id=number)
    return customer


def pay_elsewhere(erp: ErpConnector, facts, reference: str, customer: str, invoice: str, amount: str) -> None:
    [result] = erp.receipts_post(receipts=[receipt(facts, reference, customer, amount, (invoice, amount))])
    assert result.error is None, result.error


def local(number: str) -> Invoice:
    return Invoice.objects.get(invoice_number=number)


class InvoiceSuite:
    def test_invoices_changed_reads_every_invoice_then_only_what_changed(self, erp, facts):
        everything = {invoice.number: invoice for invoice in erp.invoices_changed(since=None)}
        assert {f"INV-500{n}" for n in range(1, 9)} <= set(everything)
        assert everything["INV-5003"].amount == D("89.99") and everything["INV-5003"].reference == "WEB-1002"
        before = timezone.now()
        pay_elsewhere(erp, facts, "PT-8001", "C1001", "INV-5002", "10.40")
        changed = {invoice.number: invoice for invoice in erp.invoices_changed(since=before)}
        assert changed["INV-5002"].balance == D("300.00")  # paid in part: still reported, with its balance
        assert list(erp.invoices_changed(since=timezone.now() + timedelta(days=2))) == []

    def test_sync_upserts_copies_from_a_cursor_with_an_overlap(self, erp, facts):
        connection = connection_of(erp)
        customer = linked_customer(connection, "C1001")
        first = erp_invoices_sync(connection=connection, connector=erp)
        assert first.window_start is None and first.records >= 8 and first.changed >= 8
        invoice = local("INV-5001")
        assert (invoice.customer, invoice.currency, invoice.amount, invoice.balance, invoice.status) == (
            customer,
            "USD",
            D("1250.00"),
            D("1250.00"),
            Invoice.Status.OPEN,
        )
        assert invoice.due_on == invoice.issued_on + timedelta(days=30)
        assert local("INV-5003").reference == "WEB-1002"
        pay_elsewhere(erp, facts, "PT-8002", "C1001", "INV-5001", "1250.00")  # paid in the ERP, not here
        cursor = SyncCursor.objects.get(connection=connection, resource="invoices")
        second = erp_invoices_sync(connection=connection, connector=erp)
        assert second.window_start == cursor.position - timedelta(seconds=cursor.overlap_seconds)
        paid = local("INV-5001")
        assert (paid.balance, paid.status) == (D("0"), Invoice.Status.PAID)
        again = erp_invoices_sync(connection=connection, connector=erp)  # the overlap re-reads: harmless
        assert local("INV-5001").status == Invoice.Status.PAID and again.changed == 0

    def test_apply_to_an_invoice_paid_elsewhere_goes_on_account_with_a_review_naming_it(self, erp, facts):
        connection = connection_of(erp)
        customer = linked_customer(connection, "C1001")
        erp_invoices_sync(connection=connection, connector=erp)
        pay_elsewhere(erp, facts, "PT-8003", "C1001", "INV-5001", "1250.00")
        assert local("INV-5001").status == Invoice.Status.OPEN  # our copy has not heard yet
        payment = TransactionFactory(customer=customer, amount=D("1250.00"), invoice_reference="INV-5001")
        assert payment_apply(payment=payment, erp_connection=connection) == []
        assert local("INV-5001").status == Invoice.Status.PAID  # read from the ERP before applying
        review = ReconciliationException.objects.get(transaction=payment)
        assert review.kind == ReconciliationException.Kind.UNAPPLIED_PAYMENT and "INV-5001" in review.reason
        assert local("INV-5002").balance == D("310.40")  # the money did not slide onto another invoice

    def test_apply_never_over_applies_an_invoice_changed_between_sync_and_application(self, erp, facts):
        connection = connection_of(erp)
        customer = linked_customer(connection, "C1001")
        erp_invoices_sync(connection=connection, connector=erp)
        pay_elsewhere(erp, facts, "PT-8004", "C1001", "INV-5001", "1000.00")
        payment = TransactionFactory(customer=customer, amount=D("1250.00"), invoice_reference="INV-5001")
        allocations = payment_apply(payment=payment, erp_connection=connection)
        assert [(a.invoice.invoice_number, a.amount) for a in allocations] == [
            ("INV-5001", D("250.00")),
            ("INV-5002", D("310.40")),
        ]
        assert (local("INV-5001").balance, local("INV-5002").status) == (D("0"), Invoice.Status.PAID)

    def test_apply_finds_an_invoice_only_the_erp_holds_by_number(self, erp):
        connection = connection_of(erp)
        customer = linked_customer(connection, "C1002")
        assert not Invoice.objects.filter(invoice_number="INV-5003").exists()  # never synced here
        payment = TransactionFactory(customer=customer, amount=D("89.99"), invoice_reference="INV-5003")
        [allocation] = payment_apply(payment=payment, erp_connection=connection)
        assert (allocation.invoice.invoice_number, allocation.amount, allocation.rule) == (
            "INV-5003",
            D("89.99"),
            Allocation.Rule.REFERENCE,
        )
        assert local("INV-5003").status == Invoice.Status.PAID

    def test_apply_to_an_invoice_cancelled_in_the_erp_voids_the_copy_and_goes_on_account(self, erp):
        connection = connection_of(erp)
        customer = linked_customer(connection, "C1001")
        InvoiceFactory(connection=connection, customer=customer, invoice_number="INV-GONE", amount=D("50"))
        payment = TransactionFactory(customer=customer, amount=D("50.00"), invoice_reference="INV-GONE")
        assert payment_apply(payment=payment, erp_connection=connection) == []
        assert local("INV-GONE").status == Invoice.Status.VOID
        assert "INV-GONE" in ReconciliationException.objects.get(transaction=payment).reason

    def test_reconcile_mends_what_is_safe_and_flags_an_allocation_the_erp_does_not_show(self, erp, facts):
        connection = connection_of(erp)
        customer = linked_customer(connection, "C1002")
        linked_customer(connection, "C1001")
        erp_invoices_sync(connection=connection, connector=erp)
        InvoiceFactory(connection=connection, customer=customer, invoice_number="INV-GONE", amount=D("50"))
        pay_elsewhere(erp, facts, "PT-8005", "C1001", "INV-5002", "310.40")
        # Applied and "posted" here, but the ERP never got the receipt.
        payment = TransactionFactory(customer=customer, amount=D("89.99"))
        Allocation.objects.create(
            payment=payment, invoice=local("INV-5003"), amount=D("89.99"), currency="USD", rule="reference"
        )
        invoice_balance_change(invoice=local("INV-5003"), delta=D("-89.99"))
        ErpPosting.objects.create(
            connection=connection,
            document_type=ErpPosting.DocumentType.RECEIPT,
            reference=payment.transaction_id,
            transaction=payment,
            status=ErpPosting.Status.POSTED,
            erp_document_number="LOST-1",
        )
        summary = invoices_reconcile(connection=connection, connector=erp)
        assert (summary.mended, summary.flagged) == (2, 1)  # INV-5002 paid elsewhere, INV-GONE cancelled
        assert local("INV-5002").status == Invoice.Status.PAID
        assert local("INV-GONE").status == Invoice.Status.VOID
        drift = ReconciliationException.objects.get(kind=ReconciliationException.Kind.INVOICE_DRIFT)
        assert "INV-5003" in drift.reason and local("INV-5003").status == Invoice.Status.PAID  # not mended
        assert dashboard_get().invoice_drift == 1
        with pytest.raises(CommandError) as drift_found:
            call_command(reconcile_invoices.Command(), "--connection", connection.name)
        assert drift_found.value.returncode == 2

    def test_sync_invoices_command_shows_progress(self, erp, capsys):
        connection = connection_of(erp)
        call_command(sync_invoices.Command(), "--connection", connection.name)
        out = capsys.readouterr().out
        assert "#" in out and "invoices read" in out
        assert local("INV-5008").amount == D("999.00")
