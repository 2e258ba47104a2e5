"""Risk features of a batch, set-based, are those of each transaction on its own."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.models import Transaction
from payments.risk.features import transaction_features, transactions_features
from payments.risk.rules import risk_rules_resolve
from tests.factories import CustomerFactory
from tests.payments.test_risk import History, _card_testing


def _history() -> History:
    h = History()
    regular, keyed_by_email = CustomerFactory(), "buyer@example.com"
    _card_testing(h)
    for n in range(60):  # longer than a customer's kept sales (history_size 50)
        h.add(minutes=3, customer=regular, amount=Decimal(20 + n % 9), ip_address="203.0.113.9")
    sale = h.add(customer=regular, status="settled", amount=Decimal("90.00"))
    h.add(transaction_type="refund", original=sale, amount=Decimal("30.00"), customer=regular)
    for amount in ("15.00", "15.00", "900.00"):
        h.add(email=keyed_by_email.upper(), amount=Decimal(amount), last4="4242")
    h.add(transaction_type="refund", original=sale, amount=Decimal("70.00"), customer=regular)
    h.add(customer=regular, amount=Decimal("400.00"), last4="4242", minutes=0)
    h.add(email=keyed_by_email, amount=Decimal("1.00"), status="declined", ip_address="203.0.113.9")
    return h


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 5, 12])
def test_a_batch_gets_the_features_each_transaction_gets_alone(size):
    _history()
    settings = risk_rules_resolve({}).feature_settings
    batch = list(Transaction.objects.order_by("-occurred_at", "-pk")[:size])
    with CaptureQueriesContext(connection) as queries:
        together = transactions_features(transactions=batch, settings=settings)
    assert len(queries) <= 3
    for transaction in batch:
        assert together[transaction.pk] == transaction_features(transaction=transaction, settings=settings)
