import json
import logging
from decimal import Decimal

import pytest

from portal.pci import (
    CardNumberMaskingFilter,
    card_numbers_find,
    card_numbers_mask,
    json_payload_redact,
    log_record_mask,
    redact,
)

VISA, MASTERCARD = "4111111111111111", "5454545454545454"


def test_luhn_valid_numbers_are_masked_to_last_four():
    assert card_numbers_mask("card 4012000098765439 ok") == "card ************5439 ok"
    assert card_numbers_mask("amex 3714-4963-5392-376") == "amex ***********2376"


def test_non_luhn_and_short_numbers_are_left_alone():
    # Was "order 4012000098765438": it holds the Luhn-valid 13-digit window 4012000098765, which the
    # masker now finds (see test_a_luhn_valid_window_inside_a_longer_number_is_masked).
    assert card_numbers_mask("order 8226161561168607") == "order 8226161561168607"
    assert card_numbers_mask("id 123456789012") == "id 123456789012"


# Every format seen when the portal was attacked, and the masked text the portal keeps.
ATTACK_CASES = [
    ("4111111111111111 123", "************1111 ***", VISA),
    ("+1 4111 1111 1111 1111", "+* ************1111", VISA),
    ("4111-1111-1111-1111 12/29", "************1111 **/29", VISA),
    ("card 5454 5454 5454 5454 exp 12 30", "card ************5454 exp 12 30", MASTERCARD),
    ("994111111111111111", "**************1111", VISA),
    ("4111111111111111123", "************1111***", VISA),
    ('{"pan": "4012888888881881", "csc": 9}', '{"pan": "************1881", "csc": 9}', "4012888888881881"),
    ("4111\u20131111\u20131111\u20131111", "************1111", VISA),
    ("4111  1111\n1111\t1111", "************1111", VISA),
    ("ref x4111111111111111y", "ref x************1111y", VISA),
    # As a URL carries them: an admin search reaches the access log as q=4111+1111+...
    ("/admin/?q=4111+1111+1111+1111", "/admin/?q=************1111", VISA),
    ("?x=5454%205454%205454%205454&y=1", "?x=************5454&y=1", MASTERCARD),
    ("?x=4111%2D1111%2d1111-1111+12%2F29", "?x=************1111+**%2F29", VISA),
]


@pytest.mark.parametrize(("text", "masked", "card"), ATTACK_CASES)
def test_attack_formats_are_found_and_masked_to_the_cards_last_four(text, masked, card):
    assert card_numbers_mask(text) == masked
    assert card_numbers_find(text) == [card]
    assert card_numbers_find(masked) == []
    assert card_numbers_mask(masked) == masked  # masking twice changes nothing


def test_the_security_code_after_a_card_is_masked_and_never_shown_as_its_last_four():
    # "4111111111111111 123" also holds the Luhn-valid window 1111111111112 ending in the code's digits.
    assert card_numbers_mask("4111111111111111 123") == "************1111 ***"
    assert card_numbers_find("4111111111111111 123") == [VISA]


def test_a_luhn_valid_window_inside_a_longer_number_is_masked():
    assert card_numbers_find("order 4012000098765438") == ["4012000098765"]
    assert card_numbers_mask("order 4012000098765438") == "order *********8765***"


def test_two_cards_in_one_group_each_keep_their_last_four():
    assert card_numbers_mask(f"{VISA} {MASTERCARD}") == "************1111 ************5454"


def test_a_very_long_digit_run_is_masked_whole():
    run = "7" * 150 + "1234"
    assert card_numbers_mask(f"blob {run} end") == f"blob {'*' * 150}1234 end"
    assert card_numbers_find(run) == [run]


@pytest.mark.parametrize(
    "text",
    [
        "amount 1250.00 USD, tax 99.99",
        "2026-11-22 10:00:00+00:00",
        "due 12/29, paid 2026-11-22T10:00:00Z",
        "phone +1 (206) 555-0100 ext 42",
        "order WEB-2026-000123",
        "risk score 0.3333333333333333",
        "id 123456789012",
        "zero-padded 0000000000012500",
        "8226161561168607",  # 16 digits, no Luhn-valid window
        "sha256 " + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "md5 5d41402abc4b2a76b9719d911017c592",
    ],
)
def test_non_card_numbers_stay(text):
    assert card_numbers_mask(text) == text
    assert card_numbers_find(text) == []


def test_digits_inside_a_hex_digest_are_part_of_the_digest():
    # Signatures and SHA-256 hashes are kept as they are; a card would have to be hidden in one on purpose.
    signature = "t=1764000000,v1=" + "a1" * 8 + VISA + "b2" * 8
    assert card_numbers_mask(signature) == signature
    assert card_numbers_mask("ab" * 4 + VISA) == "ab" * 4 + "************1111"  # 24 characters: no digest


def test_the_trade_off_a_long_number_that_is_not_a_card_may_be_masked():
    # PCI wins over false positives: 16 digits hold some Luhn-valid window more often than not.
    assert card_numbers_mask("tracking 9405511899223197428490") == "tracking *************1974*****"


def test_filter_rewrites_message_and_arguments():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "charging %s for %s", ("5499740000000057", "9.99"), None
    )
    assert CardNumberMaskingFilter().filter(record) is True
    assert record.getMessage() == "charging ************0057 for 9.99"


def test_log_records_exceptions_and_broken_format_strings_are_masked():
    try:
        raise ValueError(f"declined {VISA}")
    except ValueError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), (type(exc), exc, None))
    log_record_mask(record)
    assert VISA not in record.exc_text and "************1111" in record.exc_text

    broken = logging.LogRecord("x", logging.INFO, __file__, 1, "card %s %s", (VISA,), None)
    log_record_mask(broken)
    assert VISA not in broken.getMessage()


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


def test_redact_knows_secret_keys_in_any_spelling_and_masks_numbers_and_keys():
    snapshot = redact(
        {
            "accountNumber": "000123456789",
            "Routing-Number": "325081403",
            "CVV": "123",
            "card": 4111111111111111,
            "amount": Decimal("42.50"),
            "count": 3,
            "flag": True,
            VISA: "as a key",
        }
    )
    assert snapshot == {
        "accountNumber": "[redacted]",
        "Routing-Number": "[redacted]",
        "CVV": "[redacted]",
        "card": "************1111",
        "amount": Decimal("42.50"),
        "count": 3,
        "flag": True,
        "************1111": "as a key",
    }


def _json(payload) -> tuple[dict, bytes]:
    body = json.dumps(payload).encode()
    return json.loads(body, parse_float=Decimal), body


def test_json_payload_redact_leaves_an_ordinary_event_alone_without_copying_it():
    payload, body = _json(
        {
            "id": "evt_1",
            "type": "transaction.success",
            "created": "2026-11-22T10:00:00Z",
            "data": {"transactionId": "123456789", "amount": 42.5},
        }
    )
    assert json_payload_redact(payload=payload, body=body) is payload


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        ({"data": {"note": "4111 1111 1111 1111"}}, None),
        ({"data": {"card": 4111111111111111}}, None),
        ({"data": {"csc": "999"}}, None),
        ({"data": {"note": "card"}}, b'{"data": {"note": "4111\\u0020111111111111"}}'),
        ({"data": {"url": "/x?q=4111%201111%201111%201111"}}, None),
        ({"data": {"note": "card"}}, '{"data": {"note": "4111\u20131111\u20131111\u20131111"}}'.encode()),
    ],
)
def test_json_payload_redact_redacts_whatever_could_hide_a_card(payload, body):
    if body is None:
        payload, body = _json(payload)
    else:
        payload = json.loads(body)
    stored = json_payload_redact(payload=payload, body=body)
    assert card_numbers_find(json.dumps(stored)) == []
    assert "999" not in json.dumps(stored)
