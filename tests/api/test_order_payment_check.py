"""An order naming a PayTrace transaction: one PayTrace does not know is a 422 saying so, PayTrace away a
503 (retry), and nothing is stored either way. Against the demo world's sandboxes over real HTTP."""

import pytest

from integrations.models import Connection
from payments.models import Order
from tests.api.conftest import order_body

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/orders/"


def test_an_unknown_paytrace_transaction_is_a_422_with_the_reason(demo_world, api):
    response = api.post(URL, order_body("WEB-GHOST-1", paytrace_transaction_id="987654321"), format="json")
    assert response.status_code == 422, response.json()
    error = response.json()["error"]
    assert error["code"] == "unknown_payment" and "PayTrace has no transaction 987654321" in error["message"]
    assert list(error["fields"]) == ["paytrace_transaction_id"]
    assert not Order.objects.exists()


def test_paytrace_away_is_a_503_and_nothing_is_stored(demo_world, api):
    Connection.objects.filter(system="paytrace").update(base_url="http://127.0.0.1:9/sandbox/paytrace")
    response = api.post(URL, order_body("WEB-GHOST-2", paytrace_transaction_id="987654321"), format="json")
    assert response.status_code == 503, response.json()
    assert response.json()["error"]["code"] == "erp_unavailable"
    assert not Order.objects.exists()
