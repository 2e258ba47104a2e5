"""The storefront callbacks and the currency conversions, read-only in the admin: listed, filtered and
searched, never edited (the role matrix says who may open them)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import CallbackDelivery, CurrencyConversion, OrderEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(f.UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def rows():
    erp = f.ConnectionFactory(system="sage_300")
    order = f.OrderFactory(erp_connection=erp, order_id="WEB-CB-1")
    event = OrderEvent.objects.create(order=order, status="failed", reason="Payment 42 was declined")
    delivery = CallbackDelivery.objects.create(
        order=order,
        event=event,
        url="https://shop.example/hooks/paysage",
        payload={"order_id": "WEB-CB-1", "status": "failed"},
        status="dead",
        attempt_count=8,
        last_error="HTTP 500",
    )
    posting = f.ErpPostingFactory(connection=erp, reference="PT-CAD-7", erp_document_number="RC-77")
    conversion = CurrencyConversion.objects.create(
        posting=posting,
        from_currency="CAD",
        from_amount=Decimal("136.00"),
        to_currency="USD",
        to_amount=Decimal("100.00"),
        rate=Decimal("1.36"),
        operation="divide",
        rate_date=timezone.now().date(),
        source="Sage 300 CSRATE",
    )
    return delivery, conversion


def test_callback_deliveries_list_filter_and_search(superuser_client, rows):
    url = reverse("admin:payments_callbackdelivery_changelist")
    page = superuser_client.get(url, {"status__exact": "dead"}).content.decode()
    assert "WEB-CB-1" in page
    assert "WEB-CB-1" not in superuser_client.get(url, {"status__exact": "delivered"}).content.decode()
    assert "WEB-CB-1" in superuser_client.get(url, {"q": "WEB-CB-1"}).content.decode()
    change = reverse("admin:payments_callbackdelivery_change", args=[rows[0].pk])
    assert superuser_client.post(change, {"status": "pending"}).status_code == 403
    assert superuser_client.get(reverse("admin:payments_callbackdelivery_add")).status_code == 403


def test_currency_conversions_list_filter_and_search(superuser_client, rows):
    url = reverse("admin:payments_currencyconversion_changelist")
    page = superuser_client.get(url, {"from_currency": "CAD", "q": "PT-CAD-7"}).content.decode()
    assert "PT-CAD-7" in page and "1.36" in page and "Sage 300 CSRATE" in page
    assert "PT-CAD-7" not in superuser_client.get(url, {"q": "NOPE-1"}).content.decode()
    change = reverse("admin:payments_currencyconversion_change", args=[rows[1].pk])
    assert superuser_client.post(change, {"rate": "2"}).status_code == 403
    rows[1].refresh_from_db()
    assert rows[1].rate == Decimal("1.36")
