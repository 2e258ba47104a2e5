"""Text read from PayTrace or any ERP has its card numbers masked as the value or error carrying it is made;
keys stay as they are."""

import json
from decimal import Decimal

import pytest

from integrations.paytrace.errors import PayTraceValidationError
from integrations.paytrace.types import CustomerResult, TransactionResult
from integrations.sage.base import Address, ErpCustomer, ErpInvoice, ErpPermanentError
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


def test_an_erp_error_echoing_card_data_is_masked():
    error = ErpPermanentError(
        f"Comments invalid: {NOTE}", code="RecordInvalid", raw={"echo": PHONE, "csc": "999"}
    )
    assert str(error) == "[RecordInvalid] Comments invalid: card ************5454 exp 12 30"
    assert error.args == ("Comments invalid: card ************5454 exp 12 30",)
    assert error.raw == {"echo": "+* ************1111", "csc": "[redacted]"}


def test_paytrace_errors_and_results_mask_their_texts():
    error = PayTraceValidationError(f"Declined {PHONE}", errors={"35": [f"Bad card {NOTE}"]})
    assert str(error) == "Declined +* ************1111 (35: Bad card card ************5454 exp 12 30)"
    answer = {"response_code": 101, "transaction_id": 1, "status_message": NOTE, "approval_message": PHONE}
    result = TransactionResult.from_body(answer)
    assert (result.status_message, result.approval_message) == (
        "card ************5454 exp 12 30",
        "+* ************1111",
    )
    assert CustomerResult.from_body(answer).status_message == "card ************5454 exp 12 30"
