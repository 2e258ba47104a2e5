"""Who an ERP invoice and a payment belong to, found from their numbers: an invoice the ERP raised from a
sales order carries the ERP's number for that order; a keyed sale (no vault customer) names the invoice it
pays. The happy paths over HTTP are in `test_walkthrough.py`; these are the edges."""

from datetime import date
from decimal import Decimal

import pytest

from integrations.models import System
from integrations.sage.base import ErpInvoice, ErpTransientError
from payments.services import receipt_customers
from payments.services.erp_invoices import erp_invoice_upsert
from payments.services.receipt_customers import transaction_invoice_customer_ensure
from tests.factories import (
    ConnectionFactory,
    CustomerLinkFactory,
    InvoiceFactory,
    OrderFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


def _erp_invoice(number: str, *, customer: str, reference: str) -> ErpInvoice:
    return ErpInvoice(
        number=number,
        customer_number=customer,
        currency="USD",
        amount=Decimal("562.99"),
        balance=Decimal("562.99"),
        issued_on=date(2026, 12, 1),
        due_on=date(2026, 12, 31),
        reference=reference,
    )


def test_an_invoice_carrying_the_erps_order_number_links_that_erps_order_only():
    erp = ConnectionFactory(system=System.SAGE_300)
    other = ConnectionFactory(system=System.SAGE_X3)
    order = OrderFactory(order_id="WEB-77", erp_connection=erp, erp_order_number="ORD000000000001")
    OrderFactory(order_id="WEB-78", erp_connection=other, erp_order_number="ORD000000000002")
    CustomerLinkFactory(connection=erp, external_id="C1001", customer=order.customer)

    # By the ERP's own number for the order, by the storefront's id; another ERP's order number means
    # nothing here, and an unknown reference links nothing.
    linked = {
        reference: erp_invoice_upsert(
            connection=erp, erp_invoice=_erp_invoice(f"IN-{n}", customer="C1001", reference=reference)
        ).invoice.order
        for n, reference in enumerate(("ORD000000000001", "WEB-77", "ORD000000000002", "PO-4471"))
    }
    assert linked == {"ORD000000000001": order, "WEB-77": order, "ORD000000000002": None, "PO-4471": None}


def test_a_keyed_sale_naming_a_held_invoice_is_its_customers_without_reading_the_erp(monkeypatch):
    invoice = InvoiceFactory(invoice_number="INV-9001")
    sale = TransactionFactory(invoice_reference="INV-9001")
    monkeypatch.setattr(receipt_customers, "connector_for", lambda connection: pytest.fail("ERP read"))

    assert transaction_invoice_customer_ensure(transaction=sale, erp=invoice.connection) == invoice.customer
    sale.refresh_from_db()
    assert sale.customer == invoice.customer


class _Erp:
    def __init__(self, *, found=None, error=None):
        self.found, self.error = found, error

    def invoice_get(self, *, number):
        if self.error:
            raise self.error
        return self.found


@pytest.mark.parametrize(
    "erp_answer",
    [_Erp(found=None), _Erp(error=ErpTransientError("no answer within 15.0s"))],
    ids=["the ERP holds no such invoice", "the ERP cannot be read"],
)
def test_a_keyed_sale_naming_no_invoice_the_erp_holds_keeps_no_customer(monkeypatch, erp_answer):
    erp = ConnectionFactory(system=System.SAGE_300)
    sale = TransactionFactory(invoice_reference="VT-0001")
    monkeypatch.setattr(receipt_customers, "connector_for", lambda connection: erp_answer)

    assert transaction_invoice_customer_ensure(transaction=sale, erp=erp) is None
    sale.refresh_from_db()
    assert sale.customer is None


def test_a_keyed_sale_naming_an_invoice_entered_since_the_sync_reads_it_from_the_erp(monkeypatch):
    erp = ConnectionFactory(system=System.SAGE_300)
    link = CustomerLinkFactory(connection=erp, external_id="C1002")
    sale = TransactionFactory(invoice_reference="INV-9002")
    found = _erp_invoice("INV-9002", customer="C1002", reference="")
    monkeypatch.setattr(receipt_customers, "connector_for", lambda connection: _Erp(found=found))

    assert transaction_invoice_customer_ensure(transaction=sale, erp=erp) == link.customer
    assert erp.invoices.get(invoice_number="INV-9002").customer == link.customer


def test_a_vault_customers_sale_keeps_its_customer_whatever_invoice_it_names():
    invoice = InvoiceFactory(invoice_number="INV-9003")
    mine = CustomerLinkFactory(connection=invoice.connection).customer
    sale = TransactionFactory(invoice_reference="INV-9003", customer=mine)

    assert transaction_invoice_customer_ensure(transaction=sale, erp=invoice.connection) == mine
