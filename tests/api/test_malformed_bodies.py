"""Bodies JSON cannot take answer 400 (413 when too large) with the API's JSON error, on every endpoint
that reads one, before anything is looked up in an ERP or stored."""

import json

import pytest

from payments.models import Order
from tests.api.conftest import order_body
from tests.factories import ConnectionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def _order_with_raw_name(raw: str) -> bytes:
    """An order whose customer name is written as `raw`: JSON that json.dumps would not write."""
    body = order_body()
    body["customer"]["name"] = "?"
    return json.dumps(body).replace('"name": "?"', f'"name": {raw}').encode()


BODIES = {
    "100,000 levels deep": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
    "100,000 objects deep": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested deeper than 32 levels"),
    "100,000 unclosed levels": (b"[" * 100_000, "nested deeper than 32 levels"),
    "UTF-16": (json.dumps(order_body()).encode("utf-16"), "not UTF-8 text (this looks like UTF-16)"),
    "UTF-16 without a byte order mark": (json.dumps(order_body()).encode("utf-16-le"), "not UTF-8 text"),
    "Latin-1": (_order_with_raw_name('"Société Générale"').decode().encode("latin-1"), "not UTF-8 text"),
    "NaN": (_order_with_raw_name("NaN"), "NaN is not a JSON number"),
    "NUL": (_order_with_raw_name('"Acme\\u0000"'), "NUL character"),
    "lone surrogate": (_order_with_raw_name('"Acme \\ud800"'), "lone UTF-16 surrogate"),
    "5,000-digit number": (_order_with_raw_name("9" * 5000), "Exceeds the limit (4300 digits)"),
}


@pytest.fixture
def sage300(db):
    # Never called: a body that cannot be parsed stops before any ERP lookup.
    return ConnectionFactory(system="sage_300", base_url="http://127.0.0.1:9/sandbox/sage300")


@pytest.fixture
def refunder(api):
    return api  # the Storefront group may refund


@pytest.mark.parametrize("case", BODIES)
def test_an_order_body_json_cannot_take_is_a_400_json_error(api, sage300, case):
    body, message = BODIES[case]
    response = api.generic("POST", "/api/v1/orders/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "parse_error" and message in error["message"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("case", ["100,000 levels deep", "UTF-16", "NUL"])
def test_a_refund_body_json_cannot_take_is_a_400_json_error(refunder, case):
    sale = TransactionFactory()
    body, message = BODIES[case]
    response = refunder.generic(
        "POST", f"/api/v1/transactions/{sale.transaction_id}/refund/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]


def test_a_declared_charset_does_not_make_utf16_acceptable(api, sage300):
    body = json.dumps(order_body()).encode("utf-16")
    response = api.generic("POST", "/api/v1/orders/", body, content_type="application/json; charset=utf-16")
    assert response.status_code == 400 and "UTF-16" in response.json()["error"]["message"]


def test_a_body_above_the_upload_limit_is_413(api, sage300, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps(order_body(lines=[{"sku": "TENT-2P", "quantity": "1", "unit_price": "1.00"}] * 50))
    response = api.generic("POST", "/api/v1/orders/", body.encode(), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
