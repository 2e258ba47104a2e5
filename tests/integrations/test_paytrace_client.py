"""PayTraceClient against the PayTrace simulator over real HTTP: authentication, error mapping, transient
failures and what the transcript may hold."""

import json
from decimal import Decimal

import pytest
from django.core.cache import cache

from integrations.models import System
from integrations.paytrace.client import PayTraceClient
from integrations.paytrace.errors import (
    PayTraceAuthenticationError,
    PayTraceDeclined,
    PayTraceTransientError,
    PayTraceValidationError,
)
from integrations.paytrace.types import BankAccount, BillingAddress, Card, Details, Outcome
from simulators.models import FaultProfile
from simulators.paytrace.models import PtTransaction
from simulators.paytrace.services import (
    sandbox_paytrace_account_ensure,
    sandbox_paytrace_tokens_expire,
)
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

USERNAME = "api-user@merchant.example"
PASSWORD = "sandbox-password-1"
VISA = "4012000098765439"
ADDRESS = BillingAddress(
    name="Ada Lovelace", street_address="1 Main St", city="Spokane", state="WA", zip="99201"
)


def visa(csc: str = "999") -> Card:
    return Card(number=VISA, expiration_month=12, expiration_year=2030, csc=csc)


def client_for(sandbox_base: str, *, timeout: float = 10.0, password: str = PASSWORD) -> PayTraceClient:
    return PayTraceClient(
        base_url=f"{sandbox_base}/paytrace",
        username=USERNAME,
        password=password,
        integrator_id="INT123",
        timeout=timeout,
    )


@pytest.fixture
def paytrace(sandbox_base):
    cache.clear()  # tokens are cached per base URL + user; each test starts logged out
    sandbox_paytrace_account_ensure(username=USERNAME, password=PASSWORD, integrator_id="INT123")
    return client_for(sandbox_base)


def _paths(calls: list[dict]) -> list[tuple[str, int | None]]:
    return [(call["url"].split("/paytrace/")[1], call["status"]) for call in calls]


@pytest.mark.django_db(transaction=False)  # no HTTP here: skip the live server's table flush
def test_from_connection_reads_credentials_and_timeout():
    connection = ConnectionFactory(
        system=System.PAYTRACE,
        base_url="http://127.0.0.1:9/sandbox/paytrace",
        credentials={"username": USERNAME, "password": PASSWORD, "integrator_id": "INT9"},
        options={"timeout": 3},
    )
    client = PayTraceClient.from_connection(connection)
    assert client._transport.timeout == 3.0
    assert client._integrator_id == "INT9"


def test_token_is_cached_and_integrator_id_sent(paytrace):
    paytrace.sale(amount=Decimal("10.00"), source=visa(), billing_address=ADDRESS)
    paytrace.sale(amount=Decimal("11.00"), source=visa(), billing_address=ADDRESS)
    calls = paytrace.transcript_take()
    assert _paths(calls) == [
        ("oauth/token", 200),
        ("v1/transactions/sale/keyed", 200),
        ("v1/transactions/sale/keyed", 200),
    ]
    assert calls[1]["request"]["integrator_id"] == "INT123"
    assert calls[0]["request"]["password"] == "[redacted]"
    assert calls[0]["response"]["access_token"] == "[redacted]"


def test_expired_token_reauthenticates_once_and_retries(paytrace):
    paytrace.sale(amount=Decimal("10.00"), source=visa())
    sandbox_paytrace_tokens_expire(username=USERNAME)
    result = paytrace.sale(amount=Decimal("12.00"), source=visa())
    assert result.approved
    assert _paths(paytrace.transcript_take())[1:] == [
        ("v1/transactions/sale/keyed", 200),
        ("v1/transactions/sale/keyed", 401),
        ("oauth/token", 200),
        ("v1/transactions/sale/keyed", 200),
    ]
    assert PtTransaction.objects.filter(amount=Decimal("12.00")).count() == 1


def test_token_that_never_works_fails_after_one_retry(sandbox_base):
    cache.clear()
    sandbox_paytrace_account_ensure(username=USERNAME, password=PASSWORD, token_lifetime_seconds=0)
    client = client_for(sandbox_base)
    with pytest.raises(PayTraceAuthenticationError, match="invalid_token"):
        client.sale(amount=Decimal("10.00"), source=visa())
    assert [path for path, _ in _paths(client.transcript_take())] == [
        "oauth/token",
        "v1/transactions/sale/keyed",
        "oauth/token",
        "v1/transactions/sale/keyed",
    ]


def test_bad_login_is_an_authentication_error(paytrace, sandbox_base):
    client = client_for(sandbox_base, password="wrong")
    with pytest.raises(PayTraceAuthenticationError, match="invalid_grant") as caught:
        client.sale(amount=Decimal("10.00"), source=visa())
    assert caught.value.http_status == 400


def test_approval_is_a_typed_result(paytrace):
    result = paytrace.sale(amount=Decimal("10.00"), source=visa(), billing_address=ADDRESS)
    assert result.outcome is Outcome.APPROVED
    assert result.response_code == 101
    assert result.approval_code.startswith("TAS") and len(result.approval_code) == 6
    assert result.avs_response == "Full Exact Match"
    assert result.csc_response == "Match"
    assert result.approval_message == "EXACT MATCH - Approved and completed"
    assert result.last4 == "5439"
    assert result.transaction_id.isdigit()


def test_decline_amounts_raise_declined_with_a_transaction_id(paytrace):
    for amount in ("0.29", "1.12"):
        with pytest.raises(PayTraceDeclined) as caught:
            paytrace.sale(amount=Decimal(amount), source=visa())
        result = caught.value.result
        assert result.outcome is Outcome.DECLINED
        assert result.response_code == 102
        assert result.transaction_id.isdigit()
        assert result.approval_code == ""
        assert result.avs_response == "No Match"
    mastercard = Card(number="5499740000000057", expiration_month=1, expiration_year=2031)
    with pytest.raises(PayTraceDeclined) as caught:
        paytrace.authorize(amount=Decimal("0.29"), source=mastercard)
    assert caught.value.result.approval_message == "EXPIRED CARD - Expired card"


def test_validation_errors_carry_paytrace_error_map(paytrace):
    bad = Card(number="4012000098765438", expiration_month=13, expiration_year=2030)
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.sale(amount=Decimal("10.00"), source=bad)
    error = caught.value
    assert error.codes == {35, 43}
    assert error.errors["35"] == ["Please provide a valid Credit Card Number."]
    assert error.http_status == 400 and error.response_code == 1
    with pytest.raises(PayTraceValidationError) as caught:
        paytrace.sale(
            amount=Decimal("10.00"), source=Card(number=VISA, expiration_month=1, expiration_year=2001)
        )
    assert caught.value.codes == {44}


def test_5xx_is_transient_and_not_applied(paytrace):
    FaultProfile.objects.create(system=System.PAYTRACE, account=USERNAME, error_next=1)
    with pytest.raises(PayTraceTransientError) as caught:
        paytrace.sale(amount=Decimal("10.00"), source=visa())
    assert caught.value.http_status == 503
    assert caught.value.maybe_applied is False
    assert not PtTransaction.objects.exists()
    assert paytrace.sale(amount=Decimal("10.00"), source=visa()).approved


def test_timeouts_are_transient_and_maybe_applied(sandbox_base):
    cache.clear()
    sandbox_paytrace_account_ensure(username=USERNAME, password=PASSWORD)
    client = client_for(sandbox_base, timeout=0.5)
    client._token()  # log in before the faults so they hit the sales
    FaultProfile.objects.create(
        system=System.PAYTRACE, account=USERNAME, timeout_next=1, applied_timeout_next=1, hang_seconds=1.0
    )
    with pytest.raises(PayTraceTransientError) as caught:
        client.sale(amount=Decimal("10.00"), source=visa(), details=Details(invoice_id="INV-LOST"))
    assert caught.value.maybe_applied is True
    assert not PtTransaction.objects.filter(invoice_id="INV-LOST").exists()  # hung before doing anything

    # Applied, then answered too late: the sale exists and the export finds it.
    with pytest.raises(PayTraceTransientError) as caught:
        client.sale(amount=Decimal("10.00"), source=visa(), details=Details(invoice_id="INV-APPLIED"))
    assert caught.value.maybe_applied is True
    applied = PtTransaction.objects.get(invoice_id="INV-APPLIED")
    record = client.transaction_export_by_id(transaction_id=str(applied.pk))
    assert record["invoice_id"] == "INV-APPLIED"


def test_transcript_never_holds_card_csc_or_bank_numbers(paytrace):
    paytrace.sale(amount=Decimal("10.00"), source=visa(csc="999"), billing_address=ADDRESS)
    paytrace.customer_create(customer_id="CUST-T1", card=visa(), billing_address=ADDRESS)
    account = BankAccount(account_number="000123456789", routing_number="325070760")
    paytrace.check_sale(amount=Decimal("20.00"), source=account, billing_address=ADDRESS)
    with pytest.raises(PayTraceValidationError):
        paytrace.sale(
            amount=Decimal("10.00"),
            source=Card(number="4111111111111112", expiration_month=1, expiration_year=2030),
        )
    text = json.dumps(paytrace.transcript_take())
    for secret in (VISA, "000123456789", "325070760", PASSWORD, "4111111111111112"):
        assert secret not in text
    assert '"csc": "[redacted]"' in text
    assert "5439" in text  # the last four are fine


@pytest.mark.django_db(transaction=False)
def test_card_inputs_do_not_show_in_repr():
    text = repr(visa()) + repr(BankAccount(account_number="000123456789", routing_number="325070760"))
    assert VISA not in text and "999" not in text and "000123456789" not in text


def test_a_source_the_action_cannot_use_is_refused_before_sending(paytrace):
    with pytest.raises(TypeError, match="BankAccount"):
        paytrace.sale(
            amount=Decimal("1.00"), source=BankAccount(account_number="000123456789", routing_number="1")
        )
    assert paytrace.transcript_take() == []


def test_a_client_asks_the_shared_cache_for_its_token_once_while_it_holds_it(
    paytrace, sandbox_base, monkeypatch
):
    # The drain reads a batch's transactions through one client from a pool of threads; with the
    # database cache, every cache read was a round trip on the thread's own new connection.
    paytrace.sale(amount=Decimal("10.00"), source=visa())
    fresh = client_for(sandbox_base)
    asked = []
    get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **kw: asked.append(key) or get(key, *a, **kw))
    sale = PtTransaction.objects.order_by("-pk").first()
    for _ in range(5):
        assert str(fresh.transaction_export_by_id(transaction_id=str(sale.pk))["transaction_id"]) == str(
            sale.pk
        )
    assert asked == [fresh._token_cache_key]


def test_a_revoked_token_a_client_holds_is_renewed(paytrace):
    paytrace.sale(amount=Decimal("10.00"), source=visa())
    held = paytrace._token()
    paytrace._hold("revoked-long-ago")
    sale = PtTransaction.objects.order_by("-pk").first()
    assert str(paytrace.transaction_export_by_id(transaction_id=str(sale.pk))["transaction_id"]) == str(
        sale.pk
    )
    assert paytrace._held and paytrace._held[0] not in ("revoked-long-ago", "")
    assert held
