"""The order API masks card numbers in every free-text field as it parses them; identifiers stay checked."""

import json

import pytest
from django.core.cache import cache
from rest_framework import serializers

from payments.api.fields import FreeTextEmailField, FreeTextField
from payments.api.views import OrderCreateApi, TransactionRefundApi
from payments.models import Order
from portal.pci import card_numbers_find
from tests.api.conftest import order_body
from tests.factories import ConnectionFactory

URL = "/api/v1/orders/"
CITY, PHONE = "card 5454 5454 5454 5454 exp 12 30", "+1 4111 1111 1111 1111"
DESCRIPTION = "Tent, paid 4111-1111-1111-1111 12/29, code 4111111111111111 123"


def _text_fields(serializer: serializers.Serializer):
    for name, field in serializer.fields.items():
        child = getattr(field, "child", field)
        if isinstance(child, serializers.Serializer):
            yield from _text_fields(child)
        elif isinstance(child, serializers.CharField):
            yield name, child


@pytest.mark.parametrize("view", [OrderCreateApi, TransactionRefundApi])
def test_every_text_input_is_free_text_that_masks_or_an_identifier_checked_by_its_pattern(view):
    for name, field in _text_fields(view.InputSerializer()):
        masks = isinstance(field, FreeTextField | FreeTextEmailField)
        # A URL is called as it is, so it cannot be masked: its check refuses one holding a card number.
        checked = isinstance(field, serializers.RegexField | serializers.ChoiceField | serializers.URLField)
        assert masks or checked, name


@pytest.mark.django_db
def test_a_callback_url_holding_a_card_number_is_refused(api):
    body = order_body("WEB-PCI-URL")
    body["callback_url"] = "https://shop.example/hooks/4111111111111111"
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "card number" in str(response.json())
    assert "4111111111111111" not in response.content.decode()


@pytest.mark.django_db
def test_free_text_of_an_order_is_stored_masked(api):
    erp = ConnectionFactory(system="sage_300", options={"company": "SAMLTD"})
    for sku in ("TENT-2P", "STOVE-1"):
        cache.set(f"erp-sku:{erp.pk}:{sku}", True)  # known items: no ERP call
    body = order_body("WEB-PCI-2")
    body["customer"].update(name=f"Acme {PHONE}", phone=PHONE, email="4111111111111111@acme.example")
    body["customer"]["billing_address"].update(city=CITY, line2=DESCRIPTION)
    body["lines"][0]["description"] = DESCRIPTION

    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(order_id="WEB-PCI-2")
    assert (
        order.lines.get(sku="TENT-2P").description
        == "Tent, paid ************1111 **/29, code ************1111 ***"
    )
    customer = order.customer
    assert (customer.phone, customer.city, customer.name) == (
        "+* ************1111",
        "card ************5454 exp 12 30",
        "Acme +* ************1111",
    )
    assert customer.email == "************1111@acme.example"
    assert card_numbers_find(json.dumps(order.request_body)) == []
    assert card_numbers_find(response.content.decode()) == []
