"""Money that crosses currencies and customers the ERP does not know yet, against each ERP's sandbox over
real HTTP: a CAD customer's payment through the USD account is posted in CAD to the ERP's CAD bank and
pays its CAD invoice, the rate and its source kept; a missing rate is a dead letter that names it; a new
vault customer's first payment creates the ERP customer first, through the outbox."""

from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import CustomerLink
from integrations.models import CurrencyRate, ErpPosting
from integrations.outbox.services import posting_replay
from integrations.sage.registry import connector_for
from payments.erp.documents import receipt_build
from payments.models import CurrencyConversion
from payments.services.postings import postings_plan_for_transaction
from portal.demo import DEMO_MERCHANT_ID, PAYTRACE_USER
from simulators.models import FaultProfile
from tests.factories import TransactionFactory
from tests.integrations import test_outbox
from tests.integrations.test_outbox import payment, post_until_settled

pytestmark = pytest.mark.django_db(transaction=True)
erp = test_outbox.erp  # each test runs against each ERP's sandbox
Status = ErpPosting.Status
CAD_BANKS = {"sage_300": "PTCAD", "sage_x3": "CADBK", "sage_pro": "PTCAD"}


def _erp_rates_removed(erp) -> None:
    """The Sage 300 sandbox's own CS/CSCurrencyRates rows, so only Paysage's table could answer."""
    from simulators.sage300.models import LookupRecord

    LookupRecord.objects.filter(resource="CS/CSCurrencyRates").delete()


def test_a_cad_customers_usd_payment_is_posted_in_cad_to_the_cad_bank_and_pays_its_invoice(erp):
    txn = payment(erp, customer_number="C1006", amount="729.27", invoice="INV-5008")
    (receipt,) = postings_plan_for_transaction(transaction=txn)

    (allocation,) = txn.allocations.all()
    assert (allocation.amount, allocation.currency, allocation.payment_amount) == (
        Decimal("999.00"),
        "CAD",
        Decimal("729.27"),
    )
    built = receipt_build(posting=receipt, connector=connector_for(erp))
    assert (built.currency, built.amount, built.bank_code) == (
        "CAD",
        Decimal("999.00"),
        CAD_BANKS[erp.system],
    )
    assert built.applications[0].amount == Decimal("999.00")

    post_until_settled()
    receipt.refresh_from_db()
    assert receipt.status == Status.POSTED, receipt.last_error
    assert connector_for(erp).invoice_get(number="INV-5008").balance == Decimal("0.00")
    conversion = CurrencyConversion.objects.get(posting=receipt)
    assert (
        conversion.from_amount,
        conversion.from_currency,
        conversion.to_amount,
        conversion.to_currency,
    ) == (
        Decimal("729.27"),
        "USD",
        Decimal("999.00"),
        "CAD",
    )
    assert conversion.rate == Decimal("0.73")
    # Sage 300 publishes a rate table (CS/CSCurrencyRates); X3 and Pro, per our references, none.
    expected = "Sage 300 SAMLTD CS/CSCurrencyRates" if erp.system == "sage_300" else "Paysage currency rate"
    assert conversion.source.startswith(expected), conversion.source
    assert allocation.rate_source == conversion.source


def test_a_missing_rate_is_a_dead_letter_naming_it_and_a_replay_after_adding_it_pays_the_invoice(erp):
    _erp_rates_removed(erp)
    CurrencyRate.objects.filter(from_currency="CAD").delete()
    txn = payment(erp, customer_number="C1006", amount="729.27", invoice="INV-5008")
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    assert not txn.allocations.exists()  # nothing applied at an unknown rate

    post_until_settled()
    receipt.refresh_from_db()
    assert receipt.status == Status.DEAD
    assert "No currency rate USD→CAD" in receipt.last_error
    assert connector_for(erp).invoice_get(number="INV-5008").balance == Decimal("999.00")

    CurrencyRate.objects.create(
        from_currency="CAD", to_currency="USD", rate=Decimal("0.73"), valid_from=timezone.localdate()
    )
    posting_replay(posting=receipt, reason="rate added")
    post_until_settled()
    receipt.refresh_from_db()
    assert receipt.status == Status.POSTED, receipt.last_error
    assert connector_for(erp).invoice_get(number="INV-5008").balance == Decimal("0.00")
    assert CurrencyConversion.objects.get(posting=receipt).source.startswith("Paysage currency rate")


def _vault_customer(customer_id: str) -> None:
    from simulators.paytrace.models import PtAccount
    from simulators.paytrace.services.customers import pt_customer_create

    pt_customer_create(
        account=PtAccount.objects.get(username=PAYTRACE_USER),
        customer_id=customer_id,
        billing_address={"name": "Gull Harbour Kayaks", "street_address": "5 Dock Rd", "zip": "98250"},
        email="office@gullharbour.example",
    )


def test_a_new_vault_customers_first_payment_creates_the_erp_customer_first_even_after_a_failure(erp):
    _vault_customer("C2001")
    paytrace = erp.__class__.objects.get(system="paytrace")
    txn = TransactionFactory(
        connection=paytrace, customer=None, paytrace_customer_id="C2001", amount=Decimal("80.00")
    )
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    txn.refresh_from_db()
    assert txn.customer.name == "Gull Harbour Kayaks"  # read from PayTrace's vault
    prerequisite = receipt.depends_on
    assert prerequisite.document_type == "customer" and prerequisite.customer_id == txn.customer_id
    assert postings_plan_for_transaction(transaction=txn) == [receipt]
    assert ErpPosting.objects.filter(document_type="customer").count() == 1

    FaultProfile.objects.create(system=erp.system, error_next=1)  # the ERP refuses the first creation
    post_until_settled(rounds=5)
    prerequisite.refresh_from_db()
    receipt.refresh_from_db()
    assert prerequisite.status == Status.POSTED, prerequisite.last_error
    assert prerequisite.attempt_count == 2
    assert receipt.status == Status.POSTED, receipt.last_error
    number = CustomerLink.objects.get(customer=txn.customer, connection=erp).external_id
    assert connector_for(erp).customer_get(number=number).name == "Gull Harbour Kayaks"
    found = connector_for(erp).document_find(document_type="receipt", reference=txn.transaction_id)
    assert found is not None


def test_a_dead_customer_creation_holds_the_receipt_until_it_is_replayed(erp):
    _vault_customer("C2002")
    paytrace = erp.__class__.objects.get(system="paytrace")
    txn = TransactionFactory(
        connection=paytrace, customer=None, paytrace_customer_id="C2002", amount=Decimal("60.00")
    )
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    FaultProfile.objects.create(system=erp.system, error_next=50)
    post_until_settled(rounds=8)
    prerequisite = receipt.depends_on
    prerequisite.refresh_from_db()
    receipt.refresh_from_db()
    assert prerequisite.status == Status.DEAD
    assert receipt.status == Status.HELD and receipt.attempt_count == 0  # never a "no default customer"

    FaultProfile.objects.filter(system=erp.system).update(error_next=0)
    posting_replay(posting=prerequisite, reason="ERP back")
    post_until_settled()
    prerequisite.refresh_from_db()
    receipt.refresh_from_db()
    assert (prerequisite.status, receipt.status) == (Status.POSTED, Status.POSTED), receipt.last_error


def test_the_receipt_gl_rule_keyed_on_the_merchant_and_brand_matches(erp):
    from integrations.models import GLAccountRule

    GLAccountRule.objects.create(
        erp=erp.system, purpose="clearing", merchant_id=DEMO_MERCHANT_ID, card_brand="VISA", account="1099"
    )
    txn = payment(erp, merchant_id=DEMO_MERCHANT_ID, card_brand="VISA")
    (receipt,) = postings_plan_for_transaction(transaction=txn)
    assert receipt_build(posting=receipt, connector=connector_for(erp)).cash_account == "1099"
    other = payment(
        erp, customer_number="C1002", invoice="", amount="5.00", merchant_id="999", card_brand="VISA"
    )
    (other_receipt,) = postings_plan_for_transaction(transaction=other)
    assert receipt_build(posting=other_receipt, connector=connector_for(erp)).cash_account != "1099"
