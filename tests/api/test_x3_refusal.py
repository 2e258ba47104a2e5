"""Tried as a new user would: an X3 refusal shows X3's own text in the dead-letter queue (issue 12).

The demo world, its X3 connection set up without the sales site an order needs. A storefront posts an
order to the API; it goes out through the outbox poster to the X3 simulator over real HTTP; X3 refuses the
sales order, its messages written as `multiRef` elements the answer's array points at; the posting ends a
dead letter whose last error is X3's text, on the dead-letter page and as the order's reason."""

import pytest
from django.urls import reverse

from integrations.models import ErpPosting, FieldDefault
from integrations.outbox.poster import postings_post_due
from payments.models import Order
from portal.roles import FINANCE_REVIEWER
from tests.staff import staff_user

pytestmark = pytest.mark.django_db(transaction=True)
X3_TEXT = "SALFCY : Mandatory field"  # the simulated X3's refusal of an order without a sales site
ORDER = {
    "order_id": "WEB-X3-NOSITE",
    "erp": "sage_x3",
    "currency": "USD",
    "customer": {
        "email": "orders@fjordtrail.example",
        "name": "Fjord Trail Outfitters",
        "billing_address": {"line1": "1 Fjord Way", "city": "Seattle", "state": "WA", "postal_code": "98109"},
    },
    "lines": [{"sku": "TENT-2P", "description": "Two-person tent", "quantity": "1", "unit_price": "249.00"}],
}


def test_an_x3_refusal_shows_x3s_text_in_the_dead_letter_queue(demo_world, api, client):
    x3 = demo_world["connections"]["sage_x3"]
    x3.options = {name: value for name, value in x3.options.items() if name != "site"}
    x3.save()
    FieldDefault.objects.filter(erp=x3.system, field="SALFCY").delete()

    assert api.post("/api/v1/orders/", ORDER, format="json").status_code == 201
    postings_post_due(time_budget_seconds=30)  # the new customer, then its order

    assert ErpPosting.objects.get(connection=x3, document_type="customer").status == "posted"
    posting = ErpPosting.objects.get(connection=x3, document_type="sales_order")
    assert posting.status == "dead"
    assert (posting.last_error, posting.last_error_code) == (f"[status0] {X3_TEXT}", "status0")
    attempt = posting.attempts.get()
    assert attempt.outcome == "permanent" and attempt.error_message == f"[status0] {X3_TEXT}"
    (call,) = attempt.response["calls"]
    assert 'href="#id0"' in call["body"] and "<multiRef " in call["body"]  # as X3 wrote it
    order = Order.objects.get(order_id=ORDER["order_id"])
    assert order.status == "failed" and X3_TEXT in order.status_reason

    client.force_login(staff_user(role=FINANCE_REVIEWER))
    page = client.get(reverse("admin:integrations_erpposting_change", args=[posting.pk])).content.decode()
    assert X3_TEXT in page
