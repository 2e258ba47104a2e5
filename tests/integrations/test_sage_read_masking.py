"""Text read from any ERP has its card numbers masked as the connector builds its value; keys stay."""

import json
from decimal import Decimal

import pytest

from integrations.sage.base import Address, ErpCustomer, ErpInvoice
from integrations.sage.sage300 import payloads as sage300
from integrations.sage.sagepro import contract as sagepro
from integrations.sage.x3.connector import X3Connector
from portal.pci import card_numbers_find

NOTE = "card 5454 5454 5454 5454 exp 12 30"
PHONE = "+1 4111 1111 1111 1111"

CUSTOMERS = {
    "sage_300": lambda: sage300.customer_from(
        {"CustomerNumber": "C1", "CustomerName": NOTE, "PhoneNumber": PHONE, "City": NOTE, "Comments": NOTE}
    ),
    "sage_pro": lambda: sagepro.customer_from_record(
        {"CUSTNO": "C1", "COMPANY": NOTE, "PHONE": PHONE, "CITY": NOTE, "NOTES": NOTE}
    ),
    "sage_x3": lambda: X3Connector._customer_from_resource(
        {"BPCNUM": "C1", "BPCNAM": NOTE, "TEL1": PHONE, "CTY": NOTE, "BPCREM": NOTE}
    ),
}
INVOICES = {
    "sage_300": lambda: sage300.invoice_from(
        {"DocumentNumber": "INV-1", "CustomerNumber": "C1", "DocumentDate": "2026-11-22", "PONumber": NOTE}
    ),
    "sage_pro": lambda: sagepro.invoice_from_record(
        {"INVNO": "INV-1", "CUSTNO": "C1", "INVDATE": "2026-11-22", "INVAMT": "10", "PONUM": NOTE}
    ),
    "sage_x3": lambda: X3Connector._invoice_from_resource(
        {"NUM": "INV-1", "BPCINV": "C1", "INVDAT": "2026-11-22", "INVREF": NOTE}
    ),
}


@pytest.mark.parametrize("erp", CUSTOMERS)
def test_customer_text_and_raw_record_read_from_an_erp_are_masked(erp):
    customer = CUSTOMERS[erp]()
    assert (customer.name, customer.phone, customer.address.city) == (
        "card ************5454 exp 12 30",
        "+* ************1111",
        "card ************5454 exp 12 30",
    )
    assert card_numbers_find(json.dumps(customer.raw)) == []
    assert customer.number == "C1"


@pytest.mark.parametrize("erp", INVOICES)
def test_invoice_text_read_from_an_erp_is_masked(erp):
    invoice = INVOICES[erp]()
    assert invoice.reference == "card ************5454 exp 12 30"
    assert card_numbers_find(json.dumps(invoice.raw)) == []


def test_erp_keys_are_never_masked():
    # Masking a key could make two records one; a key shaped like a card number is the ERP's own choice.
    customer = ErpCustomer(number="4111111111111111", name="x", address=Address())
    invoice = ErpInvoice(
        number="4111111111111111",
        customer_number="5454545454545454",
        currency="USD",
        amount=Decimal("4111111111111111"),
        balance=Decimal("0"),
        issued_on=None,
    )
    assert (customer.number, invoice.number, invoice.customer_number) == (
        "4111111111111111",
        "4111111111111111",
        "5454545454545454",
    )
    assert invoice.amount == Decimal("4111111111111111")  # amounts stay numbers
