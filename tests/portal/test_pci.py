import logging

from portal.pci import CardNumberMaskingFilter, card_numbers_find, card_numbers_mask, redact


def test_luhn_valid_numbers_are_masked_to_last_four():
    assert card_numbers_mask("card 4012000098765439 ok") == "card ************5439 ok"
    assert card_numbers_mask("amex 3714-4963-5392-376") == "amex ***********2376"


def test_non_luhn_and_short_numbers_are_left_alone():
    assert card_numbers_mask("order 4012000098765438") == "order 4012000098765438"
    assert card_numbers_mask("id 123456789012") == "id 123456789012"


def test_filter_rewrites_message_and_arguments():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "charging %s for %s", ("5499740000000057", "9.99"), None
    )
    assert CardNumberMaskingFilter().filter(record) is True
    assert record.getMessage() == "charging ************0057 for 9.99"


def test_redact_removes_secrets_and_masks_free_text():
    snapshot = redact(
        {
            "credit_card": {"number": "4111111111111111", "expiration_month": 12},
            "csc": "999",
            "check": {"account_number": "000123456789", "routing_number": "325081403"},
            "note": "paid with 4111 1111 1111 1111",
            "amount": "10.00",
        }
    )
    assert snapshot["credit_card"]["number"] == "[redacted]"
    assert snapshot["csc"] == "[redacted]"
    assert snapshot["check"] == {"account_number": "[redacted]", "routing_number": "[redacted]"}
    assert card_numbers_find(str(snapshot)) == []
    assert snapshot["amount"] == "10.00"
