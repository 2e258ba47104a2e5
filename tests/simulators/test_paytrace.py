"""The PayTrace simulator driven by our own client over real HTTP: every transaction type, the
settlement rules, the vault, recurrence, exports, and what the simulator may store."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connection as db
from django.utils import timezone

from integrations.paytrace.errors import PayTraceDeclined, PayTraceValidationError
from integrations.paytrace.records import batch_record_parse, customer_record_parse, transaction_record_parse
from integrations.paytrace.types import BankAccount, Card, Details, ProtectToken, VaultCustomer
from simulators.demo_data import CUSTOMERS
from simulators.paytrace.models import PtAccount, PtCustomer, PtTransaction
from simulators.paytrace.services import sandbox_paytrace_seed
from tests.integrations.test_paytrace_client import ADDRESS, USERNAME, VISA, paytrace, visa  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

LA = ZoneInfo("America/Los_Angeles")
TEST_CARDS = {
    "4012000098765439": "VISA",
    "5499740000000057": "MASTERCARD",
    "6011000993026909": "DISCOVER",
    "371449635392376": "AMEX",
    "4111111111111111": "VISA",
    "4012881888818888": "VISA",
    "5454545454545454": "MASTERCARD",
}
BANK = BankAccount(account_number="000123456789", routing_number="325070760")


def _record(paytrace, transaction_id, **kwargs):  # noqa: F811
    return transaction_record_parse(
        paytrace.transaction_export_by_id(transaction_id=transaction_id, **kwargs), tz=LA
    )


def test_documented_test_cards_approve(paytrace):  # noqa: F811
    for number, brand in TEST_CARDS.items():
        card = Card(number=number, expiration_month=6, expiration_year=2031)
        result = paytrace.sale(amount=Decimal("5.00"), source=card)
        assert result.approved and result.last4 == number[-4:]
        record = _record(paytrace, result.transaction_id, include_bin=True)
        assert record.card_brand == brand
        assert record.raw["credit_card"]["masked_number"].startswith(number[:6])


def test_keyed_sale_export_record(paytrace):  # noqa: F811
    details = Details(invoice_id="INV-5001", description="Order 5001", email="ap@acme.example")
    result = paytrace.sale(amount=Decimal("125.50"), source=visa(), billing_address=ADDRESS, details=details)
    record = _record(paytrace, result.transaction_id)
    assert record.transaction_type == "sale"
    assert record.status == "approved" and record.status_code == "Y"
    assert record.amount == Decimal("125.50") and record.currency == "USD"
    assert record.invoice_id == "INV-5001" and record.email == "ap@acme.example"
    assert record.billing_name == "Ada Lovelace" and record.billing_zip == "99201"
    assert record.card_brand == "VISA" and record.last4 == "5439"  # the client asks for the BIN (include_bin)
    assert record.approval_code == result.approval_code
    assert record.ip == "127.0.0.1"
    created = PtTransaction.objects.get(pk=result.transaction_id).created_at
    assert abs(record.occurred_at - created) < timedelta(seconds=1)
    assert record.occurred_at.utcoffset() == timedelta(0)


def test_sales_by_customer_by_transaction_and_protect(paytrace):  # noqa: F811
    created = paytrace.customer_create(
        customer_id="CUST-1", card=visa(), billing_address=ADDRESS, email="a@b.example"
    )
    assert created.response_code == 160 and created.last4 == "5439"
    by_customer = paytrace.sale(amount=Decimal("20.00"), source=VaultCustomer("CUST-1"))
    assert _record(paytrace, by_customer.transaction_id).customer_id == "CUST-1"
    again = paytrace.sale_by_transaction(transaction_id=by_customer.transaction_id, amount=Decimal("21.00"))
    assert again.approved and again.last4 == ""  # PayTrace answers without masked_card_number here
    assert _record(paytrace, again.transaction_id).last4 == "5439"
    protect = paytrace.sale(
        amount=Decimal("22.00"),
        source=ProtectToken(hpf_token="5b3c8a9e-1b2c-4d5e-8f90-123456789abc", enc_key="a2V5"),
    )
    assert protect.approved and protect.last4 == "5439"
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.sale(amount=Decimal("20.00"), source=VaultCustomer("NOPE"))
    assert caught.value.codes == {30}


def test_authorization_partial_capture_and_816(paytrace):  # noqa: F811
    auth = paytrace.authorize(amount=Decimal("100.00"), source=visa())
    record = _record(paytrace, auth.transaction_id)
    assert (record.status_code, record.status, record.transaction_type) == (
        "N",
        "authorized",
        "authorization",
    )
    captured = paytrace.capture(transaction_id=auth.transaction_id, amount=Decimal("60.00"))
    assert captured.response_code == 112 and captured.transaction_id == auth.transaction_id
    record = _record(paytrace, auth.transaction_id)
    assert (record.status, record.amount) == ("approved", Decimal("60.00"))
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.capture(transaction_id=auth.transaction_id)
    assert caught.value.codes == {816}
    sale = paytrace.sale(amount=Decimal("10.00"), source=visa())
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.capture(transaction_id=sale.transaction_id)
    assert caught.value.codes == {816}
    paytrace.customer_create(customer_id="C-A", card=visa())
    customer_auth = paytrace.authorize(amount=Decimal("10.00"), source=VaultCustomer("C-A"))
    assert paytrace.capture(transaction_id=customer_auth.transaction_id).approved


def test_void_before_settlement_and_818_after(paytrace):  # noqa: F811
    sale = paytrace.sale(amount=Decimal("30.00"), source=visa())
    voided = paytrace.void(transaction_id=sale.transaction_id)
    assert voided.response_code == 109
    record = _record(paytrace, sale.transaction_id)
    assert (record.status_code, record.status_message, record.status) == ("N", "Voided", "voided")
    settled = paytrace.sale(amount=Decimal("31.00"), source=visa())
    paytrace.settle()
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.void(transaction_id=settled.transaction_id)
    assert caught.value.codes == {818}
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.void(transaction_id="999999999")
    assert caught.value.codes == {811}


def test_refunds_need_settlement_then_link_to_the_original(paytrace):  # noqa: F811
    sale = paytrace.sale(amount=Decimal("50.00"), source=visa(), details=Details(invoice_id="INV-R"))
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.refund_for_transaction(transaction_id=sale.transaction_id)
    assert caught.value.codes == {817}
    batch = paytrace.settle()
    assert batch.response_code == 175 and batch.batch_number == 1
    settled = _record(paytrace, sale.transaction_id)
    assert (settled.status, settled.batch_number, settled.status_code) == ("settled", 1, "GB1")
    assert settled.settled_at is not None
    partial = paytrace.refund_for_transaction(transaction_id=sale.transaction_id, amount=Decimal("20.00"))
    assert partial.response_code == 106 and partial.transaction_id != sale.transaction_id
    refund = _record(paytrace, partial.transaction_id)
    assert (refund.transaction_type, refund.status, refund.amount) == ("refund", "approved", Decimal("20.00"))
    assert refund.original_transaction_id == sale.transaction_id and refund.invoice_id == "INV-R"
    rest = paytrace.refund_for_transaction(transaction_id=sale.transaction_id)
    assert _record(paytrace, rest.transaction_id).amount == Decimal("30.00")
    with pytest.raises(PayTraceDeclined) as caught:
        paytrace.refund_for_transaction(transaction_id=sale.transaction_id, amount=Decimal("1.00"))
    assert caught.value.result.response_code == 107

    paytrace.customer_create(customer_id="CUST-R", card=visa())
    to_customer = paytrace.refund(source=VaultCustomer("CUST-R"), amount=Decimal("5.00"))
    assert to_customer.response_code == 106
    assert _record(paytrace, to_customer.transaction_id).customer_id == "CUST-R"
    keyed = paytrace.refund(amount=Decimal("6.00"), source=visa())
    record = _record(paytrace, keyed.transaction_id)
    assert (record.transaction_type, record.status, record.original_transaction_id) == (
        "refund",
        "approved",
        "",
    )


def test_ach_sale_hold_fund_void_and_refund(paytrace):  # noqa: F811
    sale = paytrace.check_sale(amount=Decimal("40.00"), source=BANK, billing_address=ADDRESS)
    assert sale.response_code == 120
    record = _record(paytrace, sale.transaction_id)
    assert (record.transaction_type, record.status, record.last4) == ("ach_sale", "approved", "6789")
    hold = paytrace.check_hold(amount=Decimal("70.00"), source=BANK)
    assert _record(paytrace, hold.transaction_id).status == "authorized"
    funded = paytrace.check_fund(check_transaction_id=hold.transaction_id, amount=Decimal("65.00"))
    assert funded.response_code == 124
    assert _record(paytrace, hold.transaction_id).amount == Decimal("65.00")
    second = paytrace.check_hold(amount=Decimal("15.00"), source=BANK)
    assert paytrace.check_void(check_transaction_id=second.transaction_id).response_code == 124
    assert _record(paytrace, second.transaction_id).status == "voided"
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.check_fund(check_transaction_id=second.transaction_id)
    assert caught.value.codes == {80}
    paytrace.settle()
    refund = paytrace.check_refund(check_transaction_id=sale.transaction_id, amount=Decimal("10.00"))
    assert refund.response_code == 122
    record = _record(paytrace, refund.transaction_id)
    assert (record.transaction_type, record.original_transaction_id) == ("ach_refund", sale.transaction_id)


def test_ach_by_customer_declines_and_bad_accounts(paytrace):  # noqa: F811
    paytrace.customer_create(customer_id="CUST-ACH", card=visa())
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.check_sale(amount=Decimal("10.00"), source=VaultCustomer("CUST-ACH"))
    assert caught.value.codes == {30}  # no bank account on file: "not found or is incomplete"
    paytrace.customer_update(customer_id="CUST-ACH", account=BANK)
    assert paytrace.check_sale(amount=Decimal("10.00"), source=VaultCustomer("CUST-ACH")).approved
    assert paytrace.check_hold(amount=Decimal("11.00"), source=VaultCustomer("CUST-ACH")).approved
    with pytest.raises(PayTraceDeclined) as declined:
        paytrace.check_sale(amount=Decimal("0.29"), source=VaultCustomer("CUST-ACH"))
    assert declined.value.result.response_code == 125 and declined.value.result.transaction_id
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.check_sale(
            amount=Decimal("10.00"), source=BankAccount(account_number="12", routing_number="123456789")
        )
    assert caught.value.codes == {45, 46}


def test_vault_create_duplicate_update_delete_export(paytrace):  # noqa: F811
    paytrace.customer_create(customer_id="V-1", card=visa(), billing_address=ADDRESS, email="v1@x.example")
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.customer_create(customer_id="V-1", card=visa())
    assert caught.value.codes == {171}
    mastercard = Card(number="5454545454545454", expiration_month=3, expiration_year=2032)
    updated = paytrace.customer_update(
        customer_id="V-1", card=mastercard, email="new@x.example", new_id="V-2"
    )
    assert (updated.response_code, updated.customer_id, updated.last4) == (161, "V-2", "5454")
    [raw] = paytrace.customer_export(customer_id="V-2")
    record = customer_record_parse(raw, tz=LA)
    assert (record.customer_id, record.email, record.last4, record.name) == (
        "V-2",
        "new@x.example",
        "5454",
        "Ada Lovelace",
    )
    assert record.created_at is not None and record.updated_at >= record.created_at
    sale = paytrace.sale(amount=Decimal("9.00"), source=visa(), billing_address=ADDRESS)
    from_txn = paytrace.customer_create_from_transaction(
        customer_id="V-3", transaction_id=sale.transaction_id
    )
    assert from_txn.response_code == 160
    assert {r["customer_id"] for r in paytrace.customer_export()} == {"V-2", "V-3"}
    assert paytrace.customer_delete(customer_id="V-2").response_code == 162
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.customer_delete(customer_id="V-2")
    assert caught.value.codes == {30}

    paytrace.customer_create(customer_id="REC-1", card=visa())
    start = timezone.now().date() + timedelta(days=1)
    created = paytrace.recurrence_create(
        customer_id="REC-1", amount=Decimal("15.00"), frequency=3, start_date=start, total_count=12
    )
    assert created.response_code == 150 and created.recurrence_id
    assert paytrace.recurrence_export_approved(customer_id="REC-1") == []
    paytrace.recurrence_delete(recurrence_id=created.recurrence_id)
    with pytest.raises(PayTraceValidationError):
        paytrace.recurrence_delete(recurrence_id=created.recurrence_id)


def test_date_range_export_filters(paytrace):  # noqa: F811
    paytrace.customer_create(customer_id="D-1", card=visa())
    sale = paytrace.sale(amount=Decimal("10.00"), source=VaultCustomer("D-1"))
    paytrace.authorize(amount=Decimal("11.00"), source=visa())
    with pytest.raises(PayTraceDeclined):
        paytrace.sale(amount=Decimal("1.12"), source=visa())
    today = timezone.now().astimezone(LA).date()
    window = {"start_date": today - timedelta(days=1), "end_date": today}
    everything = paytrace.transactions_export_by_date_range(**window)
    statuses = sorted(transaction_record_parse(raw, tz=LA).status for raw in everything)
    assert statuses == ["approved", "authorized", "declined"]
    declined = paytrace.transactions_export_by_date_range(**window, transaction_type="DECLINED")
    assert [transaction_record_parse(raw, tz=LA).status_message for raw in declined] == ["Declined"]
    mine = paytrace.transactions_export_by_date_range(**window, customer_id="D-1")
    assert [str(raw["transaction_id"]) for raw in mine] == [sale.transaction_id]
    assert (
        paytrace.transactions_export_by_date_range(
            start_date=today - timedelta(days=10), end_date=today - timedelta(days=5)
        )
        == []
    )


def test_batches_after_settle(paytrace):  # noqa: F811
    paytrace.sale(amount=Decimal("100.00"), source=visa())
    paytrace.sale(
        amount=Decimal("50.00"),
        source=Card(number="5454545454545454", expiration_month=1, expiration_year=2031),
    )
    first = paytrace.sale(amount=Decimal("25.00"), source=visa())
    assert paytrace.settle().batch_number == 1
    paytrace.refund_for_transaction(transaction_id=first.transaction_id, amount=Decimal("5.00"))
    paytrace.check_sale(amount=Decimal("10.00"), source=BANK)
    assert paytrace.settle().batch_number == 2
    assert paytrace.settle().batch_number is None  # nothing left to settle
    latest = batch_record_parse(paytrace.batch_export_one(), tz=LA)
    assert latest.batch_number == 2
    assert (latest.sales_count, latest.refund_count, latest.net_amount) == (1, 1, Decimal("5.00"))
    assert set(latest.brands) == {"ACH", "VISA"}
    one = batch_record_parse(paytrace.batch_export_one(batch_number=1), tz=LA)
    assert (one.transaction_count, one.sales_amount, one.net_amount) == (
        3,
        Decimal("175.00"),
        Decimal("175.00"),
    )
    assert one.brands["MASTERCARD"].sales_amount == Decimal("50.00")
    today = timezone.now().astimezone(LA).date()
    assert [b["number"] for b in paytrace.batches_export(start_date=today, end_date=today)] == [1, 2]
    listed = [transaction_record_parse(raw, tz=LA) for raw in paytrace.batch_transaction_list(batch_number=1)]
    assert {record.batch_number for record in listed} == {1} and len(listed) == 3
    assert all(record.status == "settled" for record in listed)
    with pytest.raises(PayTraceValidationError):
        paytrace.batch_export_one(batch_number=99)


def test_daily_cutoff_settles_lazily(paytrace):  # noqa: F811
    old = paytrace.sale(amount=Decimal("12.00"), source=visa())
    fresh = paytrace.sale(amount=Decimal("13.00"), source=visa())
    PtTransaction.objects.filter(pk=old.transaction_id).update(created_at=timezone.now() - timedelta(days=2))
    record = _record(paytrace, old.transaction_id)  # any request applies the cut-off first
    assert record.status == "settled" and record.batch_number == 1
    settled_local = record.settled_at.astimezone(LA)
    assert (settled_local.hour, settled_local.minute) == (17, 0)
    assert _record(paytrace, fresh.transaction_id).status == "approved"


def test_seed_vaults_demo_customers_once(paytrace):  # noqa: F811
    assert sandbox_paytrace_seed(username=USERNAME) == len(CUSTOMERS)
    assert sandbox_paytrace_seed(username=USERNAME) == 0
    demo = CUSTOMERS[0]
    sale = paytrace.sale(amount=Decimal("310.40"), source=VaultCustomer(demo.number))
    # A sale by customer answers without masked_card_number (PayTrace's recorded answer): the vaulted
    # card shows in the export.
    assert sale.approved and sale.last4 == ""
    assert _record(paytrace, sale.transaction_id).last4 == "5439"
    assert PtCustomer.objects.get(customer_id=demo.number).billing_address["name"] == demo.name


def test_no_full_card_or_account_number_in_any_sandbox_table(paytrace):  # noqa: F811
    for number in TEST_CARDS:
        card = Card(number=number, expiration_month=6, expiration_year=2031, csc="999")
        paytrace.sale(amount=Decimal("5.00"), source=card)
        paytrace.customer_create(customer_id=f"PCI-{number[-4:]}", card=card)
    paytrace.check_sale(amount=Decimal("5.00"), source=BANK)
    paytrace.customer_update(customer_id="PCI-5439", account=BANK)
    sandbox_paytrace_seed(username=USERNAME)
    assert PtAccount.objects.exists()
    with db.cursor() as cursor:
        for model in apps.get_app_config("sandbox_paytrace").get_models():
            cursor.execute(f"SELECT t::text FROM {model._meta.db_table} t")  # noqa: S608 - our own table names
            text = " ".join(row[0] for row in cursor.fetchall())
            for secret in (*TEST_CARDS, BANK.account_number, BANK.routing_number):
                assert secret not in text, f"{secret[-4:]} stored in {model._meta.db_table}"
    assert VISA[-4:] in "".join(PtTransaction.objects.values_list("last4", flat=True))
