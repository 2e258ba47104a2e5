"""Normalising PayTrace export records: local US timestamps, the ambiguous "N", types, brands, batches."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.paytrace.records import (
    batch_record_parse,
    customer_record_parse,
    transaction_record_parse,
    us_timestamp_parse,
)

LA = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")


def export(**overrides):
    """A by_date_range record as PayTrace documents it, parsed the way the client parses JSON."""
    record = {
        "transaction_id": 395970044,
        "credit_card": {"masked_number": "************5454", "expiration_month": 12, "expiration_year": 30},
        "transaction_type": "SALE",
        "description": "Order 77",
        "amount": 89.99,
        "invoice_id": "INV-5003",
        "billing_address": {"name": "Birch & Maple Cafe", "zip": "97205", "country": "us"},
        "receipt_emailed_to": "billing@birchmaple.example",
        "tax_amount": "8.10",
        "approval_code": "TAS610",
        "avs_response": "No Match",
        "csc_response": "Match",
        "status_code": "Y",
        "status_message": "Pending Settlement",
        "created": {"through": "API", "at": "4/10/2015 4:06:30 PM", "by": "api-user", "from_ip": "10.1.2.3"},
        "settled": "",
        "customer_id": "C1002",
    }
    record.update(overrides)
    return json.loads(json.dumps(record), parse_float=Decimal)


def test_us_timestamps_are_read_in_the_given_zone_and_turned_into_utc():
    assert us_timestamp_parse("4/10/2015 4:06:30 PM", tz=LA) == datetime(2015, 4, 10, 23, 6, 30, tzinfo=UTC)
    assert us_timestamp_parse("1/5/2024 9:00:00 AM", tz=LA) == datetime(2024, 1, 5, 17, 0, tzinfo=UTC)
    assert us_timestamp_parse("1/5/2024 12:15:00 AM", tz=NEW_YORK) == datetime(2024, 1, 5, 5, 15, tzinfo=UTC)
    assert us_timestamp_parse("", tz=LA) is None
    with pytest.raises(ValueError):
        us_timestamp_parse("2024-01-05T09:00:00", tz=LA)


def test_pending_sale_record():
    record = transaction_record_parse(export(), tz=LA)
    assert record.transaction_id == "395970044"
    assert (record.transaction_type, record.status, record.payment_method) == ("sale", "approved", "card")
    assert record.amount == Decimal("89.99") and isinstance(record.amount, Decimal)
    assert record.currency == "USD"
    assert record.occurred_at == datetime(2015, 4, 10, 23, 6, 30, tzinfo=UTC)
    assert record.settled_at is None and record.batch_number is None
    assert (record.last4, record.card_brand) == ("5454", "")
    assert (record.billing_name, record.billing_zip, record.billing_country) == (
        "Birch & Maple Cafe",
        "97205",
        "US",
    )
    assert (record.email, record.ip, record.customer_id) == (
        "billing@birchmaple.example",
        "10.1.2.3",
        "C1002",
    )
    assert record.original_transaction_id == ""


def test_settled_record_carries_its_batch():
    record = transaction_record_parse(
        export(status_code="GB571", status_message="Settled", settled="4/10/2015 8:13:45 PM"), tz=LA
    )
    assert (record.status, record.batch_number) == ("settled", 571)
    assert record.settled_at == datetime(2015, 4, 11, 3, 13, 45, tzinfo=UTC)
    assert (
        transaction_record_parse(export(status_code="Settled", status_message=""), tz=LA).status == "settled"
    )


@pytest.mark.parametrize(
    ("transaction_type", "message", "status"),
    [
        ("SALE", "Voided", "voided"),
        ("SALE", "Declined", "declined"),
        ("SALE", "Your transaction was not approved.", "declined"),
        ("AUTHORIZATION", "Authorization Only", "authorized"),
        ("AUTHORIZATION", "", "authorized"),
        ("AUTHORIZATION", "Voided", "voided"),
        ("CHECK HOLD", "Hold", "authorized"),
    ],
)
def test_status_n_is_told_apart_by_message_and_type(transaction_type, message, status):
    raw = export(status_code="N", status_message=message, transaction_type=transaction_type)
    assert transaction_record_parse(raw, tz=LA).status == status


def test_status_n_without_a_telling_message_on_a_sale_is_refused():
    with pytest.raises(ValueError, match="ambiguous"):
        transaction_record_parse(export(status_code="N", status_message=""), tz=LA)


def test_refund_and_check_types_map_to_our_vocabulary():
    refund = transaction_record_parse(
        export(transaction_type="REFUND", original_transaction_id=395970001), tz=LA
    )
    assert (refund.transaction_type, refund.status, refund.original_transaction_id) == (
        "refund",
        "approved",
        "395970001",
    )
    check = export(transaction_type="CHECK SALE", check={"masked_account_number": "xxxxxx6789"})
    del check["credit_card"]
    parsed = transaction_record_parse(check, tz=LA)
    assert (parsed.transaction_type, parsed.last4, parsed.payment_method) == ("ach_sale", "6789", "ach")
    assert (
        transaction_record_parse(export(transaction_type="Check Refund"), tz=LA).transaction_type
        == "ach_refund"
    )
    with pytest.raises(ValueError):
        transaction_record_parse(export(transaction_type="LAYAWAY"), tz=LA)


def test_brand_comes_from_the_bin_when_included_else_from_the_record():
    with_bin = export(credit_card={"masked_number": "371449*****2376"})
    assert transaction_record_parse(with_bin, tz=LA).card_brand == "AMEX"
    typed = export(credit_card={"masked_number": "************1111", "type": "Visa"})
    assert transaction_record_parse(typed, tz=LA).card_brand == "VISA"


def test_raw_is_a_redacted_copy():
    raw = export(credit_card={"number": "4012000098765439", "masked_number": "************5439"})
    record = transaction_record_parse(raw, tz=LA)
    assert record.raw["credit_card"]["number"] == "[redacted]"
    assert "4012000098765439" not in json.dumps(record.raw, default=str)


def test_float_amounts_are_refused():
    with pytest.raises(TypeError):
        transaction_record_parse({**export(), "amount": 89.99}, tz=LA)


def test_customer_record():
    raw = {
        "customer_id": "C1001",
        "credit_card": {"masked_number": "************5439", "expiration_month": 12, "expiration_year": 29},
        "billing_address": {
            "name": "Acme Outdoor Supply",
            "street_address": "100 Pike St",
            "city": "Seattle",
            "state": "WA",
            "zip": "98101",
            "country": "US",
        },
        "email": "ap@acme-outdoor.example",
        "phone": "206-555-0101",
        "created": {"at": "3/1/2024 8:00:00 AM", "by": "api-user"},
        "updated": {"at": "3/2/2024 8:00:00 AM"},
    }
    record = customer_record_parse(raw, tz=LA)
    assert (record.customer_id, record.name, record.city, record.last4) == (
        "C1001",
        "Acme Outdoor Supply",
        "Seattle",
        "5439",
    )
    assert record.created_at == datetime(2024, 3, 1, 16, 0, tzinfo=UTC)
    assert record.updated_at == datetime(2024, 3, 2, 16, 0, tzinfo=UTC)
    assert customer_record_parse({"customer_id": "X"}, tz=LA).created_at is None


def test_batch_record_with_brand_breakdown_as_map_or_list():
    raw = json.loads(
        json.dumps(
            {
                "number": 571,
                "when": "4/10/2015 8:13:45 PM",
                "transaction_count": 3,
                "net_amount": 170.00,
                "sales_count": 2,
                "sales_amount": 175.00,
                "refund_count": 1,
                "refund_amount": 5.00,
                "brands": {
                    "VISA": {
                        "sales_count": 2,
                        "sales_amount": 175.00,
                        "refund_count": 1,
                        "refund_amount": 5.00,
                    }
                },
            }
        ),
        parse_float=Decimal,
    )
    batch = batch_record_parse(raw, tz=LA)
    assert (batch.batch_number, batch.transaction_count, batch.net_amount) == (571, 3, Decimal("170.00"))
    assert batch.settled_at == datetime(2015, 4, 11, 3, 13, 45, tzinfo=UTC)
    assert batch.brands["VISA"].refund_amount == Decimal("5.00")
    listed = {**raw, "brands": [{"card_type": "amex", "sales_count": 1, "sales_amount": Decimal("9.99")}]}
    assert batch_record_parse(listed, tz=LA).brands["AMEX"].sales_amount == Decimal("9.99")


def test_every_text_from_paytrace_is_masked_but_its_ids():
    raw = export(
        description="card 5454 5454 5454 5454 exp 12 30",
        billing_address={"name": "4111111111111111 123", "zip": "98101", "country": "us"},
        receipt_emailed_to="4111-1111-1111-1111@example.com",
        invoice_id="994111111111111111",
        status_message="Pending Settlement +1 4111 1111 1111 1111",
        transaction_id=4111111111111111,
        customer_id="5454545454545454",
    )
    record = transaction_record_parse(raw, tz=LA)
    assert (
        record.description,
        record.billing_name,
        record.email,
        record.invoice_id,
        record.status_message,
    ) == (
        "card ************5454 exp 12 30",
        "************1111 ***",
        "************1111@example.com",
        "**************1111",
        "Pending Settlement +* ************1111",
    )
    # PayTrace's own ids are keys: masking one could merge two records.
    assert (record.transaction_id, record.customer_id) == ("4111111111111111", "5454545454545454")
    vault = customer_record_parse(
        {
            "customer_id": "C1",
            "phone": "+1 4111 1111 1111 1111",
            "billing_address": {"city": "4111111111111111"},
        },
        tz=LA,
    )
    assert (vault.phone, vault.city) == ("+* ************1111", "************1111")
