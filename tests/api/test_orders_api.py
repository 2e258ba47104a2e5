"""POST /api/v1/orders/: every validation error, idempotent replay, the 409, and the ERP being away."""

from decimal import Decimal

import pytest

from integrations.models import CurrencyRate
from payments.models import Order
from tests.api.conftest import order_body
from tests.factories import ConnectionFactory

URL = "/api/v1/orders/"


@pytest.fixture
def sage300(db):
    # Nothing listens there: these tests fail before any ERP call, or are about the ERP being away.
    return ConnectionFactory(
        system="sage_300",
        base_url="http://127.0.0.1:9/sandbox/sage300",
        options={"company": "SAMLTD", "timeout": 1},
    )


def with_line(**fields) -> list[dict]:
    return [{"sku": "TENT-2P", "quantity": "1", "unit_price": "249.00", **fields}]


def customer(**fields) -> dict:
    return {**order_body()["customer"], **fields}


INVALID = [
    ({"order_id": None}, ["order_id"]),
    ({"order_id": "WEB 1/2"}, ["order_id"]),
    ({"order_id": "W" * 31}, ["order_id"]),
    ({"erp": "sage_100"}, ["erp"]),
    ({"erp": "sage_x3"}, ["erp"]),  # no active connection
    ({"currency": "usd"}, ["currency"]),
    ({"currency": "XYZ"}, ["currency"]),  # neither the home currency nor in the rate table
    ({"customer": customer(email="not-an-email")}, ["customer", "email"]),
    ({"customer": customer(name="")}, ["customer", "name"]),
    ({"customer": customer(billing_address={"country": "USA"})}, ["customer", "billing_address", "country"]),
    (
        {"customer": {k: v for k, v in customer().items() if k != "billing_address"}},
        ["customer", "billing_address"],
    ),
    ({"lines": []}, ["lines"]),
    ({"lines": with_line(quantity="0")}, ["lines", "0", "quantity"]),
    ({"lines": with_line(quantity="-1")}, ["lines", "0", "quantity"]),
    ({"lines": with_line(quantity="1.0001")}, ["lines", "0", "quantity"]),
    ({"lines": with_line(unit_price="1.999")}, ["lines", "0", "unit_price"]),
    ({"lines": with_line(unit_price="-5.00")}, ["lines", "0", "unit_price"]),
    ({"lines": with_line(unit_price="abc")}, ["lines", "0", "unit_price"]),
    ({"lines": with_line(sku="")}, ["lines", "0", "sku"]),
    ({"lines": with_line(sku="A" * 21)}, ["lines", "0", "sku"]),
    ({"lines": with_line(), "total": "250.00"}, ["total"]),
    ({"lines": with_line(), "total": "249.001"}, ["total"]),
    ({"paytrace_transaction_id": "abc"}, ["paytrace_transaction_id"]),
    ({"currency": "JPY", "lines": with_line(unit_price="10.50")}, ["lines", "0", "unit_price"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "path"), INVALID, ids=[str(path) for _, path in INVALID])
def test_each_invalid_field_is_named_in_the_error(api, sage300, changes, path):
    CurrencyRate.objects.create(
        from_currency="JPY", to_currency="USD", rate=Decimal("0.0067"), valid_from="2026-01-01"
    )
    body = {**order_body(), **changes}
    body = {key: value for key, value in body.items() if value is not None}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    node = error["fields"]
    for step in path:
        node = node[step]
    assert node and all(isinstance(message, str) for message in node)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_a_json_error(api, sage300):
    response = api.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_an_unreachable_erp_stores_nothing_and_says_retry(api, sage300):
    response = api.post(URL, order_body(), format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "erp_unavailable"
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_replay_is_idempotent_and_a_different_body_conflicts(api, demo_world):
    first = api.post(URL, order_body("WEB-7001"), format="json")
    assert first.status_code == 201, first.json()

    # The same order, written differently (quantities, key order, total given), is the same body.
    same = order_body("WEB-7001", total="562.99")
    same["lines"][0]["quantity"] = "2.000"
    same["lines"][1]["quantity"] = "1"
    replay = api.post(URL, dict(reversed(list(same.items()))), format="json")
    assert replay.status_code == 200
    assert replay.json() == first.json()

    changed = order_body("WEB-7001")
    changed["lines"][0]["quantity"] = "3"
    conflict = api.post(URL, changed, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    order = Order.objects.get()
    assert order.lines.count() == 2 and order.total == Decimal("562.99")
    assert len(order.request_hash) == 64 and order.request_body["lines"][0]["quantity"] == "2.000"


@pytest.mark.django_db(transaction=True)
def test_an_item_the_erp_does_not_know_is_named(api, demo_world):
    body = order_body("WEB-7002", lines=with_line() + with_line(sku="NO-SUCH-ITEM"))
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields["lines"]) == ["1"]
    assert "NO-SUCH-ITEM" in fields["lines"]["1"]["sku"][0]
    assert not Order.objects.exists()
