"""Customers both ways over the sandboxes: an edit in PayTrace reaches the ERPs and one in an ERP reaches
PayTrace, field by field, and nothing is sent twice."""

import pytest

from customers.models import CustomerLink
from customers.sync import customers_sync
from integrations.models import Alert
from integrations.paytrace.client import PayTraceClient
from integrations.sage.base import Address, CustomerData
from integrations.sage.registry import connector_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_edits_travel_both_ways_and_a_second_run_sends_nothing(demo_world):
    connections = demo_world["connections"]
    paytrace = PayTraceClient.from_connection(connections["paytrace"])
    sagepro, sage300 = connector_for(connections["sage_pro"]), connector_for(connections["sage_300"])
    customers_sync()  # the first run brings everyone in line

    paytrace.customer_update(customer_id="C1002", email="accounts@birchmaple.example")
    current = sagepro.customer_get(number="C1003")
    sagepro.customer_upsert(
        customer=CustomerData(
            number="C1003",
            name=current.name,
            phone="415-555-7777",
            address=Address(line1="9 Market St", postal_code="94105"),
        )
    )
    customers_sync()

    birch = CustomerLink.objects.get(connection=connections["paytrace"], external_id="C1002").customer
    cobalt = CustomerLink.objects.get(connection=connections["paytrace"], external_id="C1003").customer
    assert birch.email == "accounts@birchmaple.example"
    assert cobalt.phone == "415-555-7777"
    assert sage300.customer_get(number="C1002").email == "accounts@birchmaple.example"
    assert sage300.customer_get(number="C1003").phone == "415-555-7777"
    (vaulted,) = paytrace.customer_export(customer_id="C1003")
    assert vaulted["phone"] == "415-555-7777"
    assert "credit_card" not in vaulted or "number" not in vaulted["credit_card"]
    assert not Alert.objects.exists(), list(Alert.objects.values_list("title", "message"))

    summaries = customers_sync()
    assert sum(s.changed for s in summaries if s.direction == "push") == 0
