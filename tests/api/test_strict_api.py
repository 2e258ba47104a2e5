"""A strict API: an undeclared field is a 400 that names it, at any depth; every /api/ error, an unknown
path and an oversized body included, answers the JSON error shape."""

import json

import pytest
from rest_framework import serializers

from payments.api.serializers import StrictSerializer
from payments.api.views import OrderCreateApi, OrderDetailApi, TransactionRefundApi
from payments.models import Order
from tests.api.conftest import order_body
from tests.factories import ConnectionFactory, TransactionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


@pytest.fixture
def sage300(db):
    # Nothing listens there: an unknown field stops the order before any ERP call.
    return ConnectionFactory(system="sage_300", base_url="http://127.0.0.1:9/sandbox/sage300")


def test_a_misspelled_address_field_is_a_400_naming_it(api, sage300):
    body = order_body()
    address = body["customer"]["billing_address"]
    address["region"] = address.pop("state")
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert "Unknown field" in fields["customer"]["billing_address"]["region"][0]
    assert "state" in fields["customer"]["billing_address"]["region"][0]  # what was meant is offered
    assert not Order.objects.exists()


def test_unknown_fields_at_every_level_are_named_together(api, sage300):
    body = order_body(
        coupon="SPRING", lines=[{"sku": "TENT-2P", "quantity": "1", "unit_price": "1.00", "qty": 2}]
    )
    body["customer"]["fax"] = "555"
    body.pop("currency")
    fields = api.post(URL, body, format="json").json()["error"]["fields"]
    assert set(fields) == {"coupon", "customer", "lines", "currency"}
    assert set(fields["customer"]) == {"fax"} and set(fields["lines"]["0"]) == {"qty"}


def test_an_unknown_refund_field_is_a_400(api):
    sale = TransactionFactory()
    response = api.post(
        f"/api/v1/transactions/{sale.transaction_id}/refund/",
        {"request_id": "r1", "reason": "returned", "amount": "1.00", "notify": True},
        format="json",
    )
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"notify"}


def _serializers_in(serializer: serializers.Serializer):
    yield serializer
    for field in serializer.fields.values():
        field = getattr(field, "child", field)
        if isinstance(field, serializers.Serializer):
            yield from _serializers_in(field)


@pytest.mark.parametrize("view", [OrderCreateApi, TransactionRefundApi])
def test_every_input_serializer_is_strict(view):
    nested = list(_serializers_in(view.InputSerializer()))
    assert len(nested) >= 1 and all(isinstance(s, StrictSerializer) for s in nested)


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "options"])
@pytest.mark.parametrize("path", ["/api/nope/", "/api/v2/orders/", "/api/v1/orders", "/api/"])
def test_an_unknown_api_path_is_a_json_404(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_api_path_is_a_json_404_without_a_token(client):
    response = client.post("/api/nope/", "{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", [URL, "/api/v1/transactions/{id}/refund/"])
def test_a_5_mb_body_is_a_json_413(api, sage300, path):
    sale = TransactionFactory()
    body = json.dumps({"padding": "x" * 5_000_000}).encode()
    response = api.generic("POST", path.format(id=sale.transaction_id), body, content_type="application/json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "too_large"


def test_a_server_error_under_api_is_a_json_500(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(OrderDetailApi, "get", broken)
    api.raise_request_exception = False
    response = api.get("/api/v1/orders/WEB-1/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "server_error" and "boom" not in response.content.decode()


def test_a_request_django_refuses_under_api_is_a_json_400(client):
    response = client.get("/api/v1/orders/WEB-1/", HTTP_HOST="evil.example..")  # not an allowed host
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "invalid"
