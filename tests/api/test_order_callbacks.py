"""Order status written back to the storefront: signed POSTs through the callback outbox, retried after a
5xx and a timeout, delivered once however often a status is told, dead after the last attempt (alerted and
audited), and only to URLs that cannot reach inside our network in production."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.callback_urls import CallbackUrlRefused, callback_url_check
from integrations.models import Alert, AuditEvent
from integrations.webhook_intake import SIGNATURE_HEADER, webhook_signature_verify
from payments.models import CallbackDelivery, Order
from payments.services import callbacks
from payments.services.callbacks import callbacks_deliver_due
from payments.services.orders import order_status_move
from tests.api.conftest import order_body
from tests.factories import ConnectionFactory, OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)
Status = CallbackDelivery.Status


class Storefront:
    """A storefront's callback endpoint answering from a script: a status code, or "hang"."""

    def __init__(self, script: list):
        self.script = list(script)
        self.received: list[tuple[dict, bytes]] = []

    @property
    def handler(self):
        storefront = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                storefront.received.append((dict(self.headers), body))
                answer = storefront.script.pop(0) if storefront.script else 200
                if answer == "hang":
                    time.sleep(1.5)
                    answer = 200
                self.send_response(answer)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@contextmanager
def storefront(*script) -> Iterator[tuple[Storefront, str]]:
    endpoint = Storefront(list(script))
    server = ThreadingHTTPServer(("127.0.0.1", 0), endpoint.handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint, f"http://127.0.0.1:{server.server_address[1]}/paysage/orders"
    finally:
        server.shutdown()
        server.server_close()


def deliver_due_now() -> int:
    CallbackDelivery.objects.filter(status=Status.RETRYABLE).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    return callbacks_deliver_due(time_budget_seconds=20)


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(callbacks, "TIMEOUT_SECONDS", 0.5)


def test_a_status_change_is_posted_signed_and_retried_after_a_5xx_and_a_timeout(short_timeout):
    with storefront(503, "hang", 200) as (endpoint, url):
        order = OrderFactory(callback_url=url)
        order_status_move(order=order, to_status=Order.Status.FAILED, reason="Payment 9001 declined")
        (delivery,) = CallbackDelivery.objects.filter(order=order)

        for _ in range(3):
            deliver_due_now()
        time.sleep(1.2)  # the hung answer finishes after we gave up on it

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == (Status.DELIVERED, 3)
    headers, body = endpoint.received[-1]
    webhook_signature_verify(
        header=headers[SIGNATURE_HEADER], body=body, secret=settings.PAYTRACE_WEBHOOK_SECRET, tolerance=300
    )
    sent = json.loads(body)
    assert sent["type"] == "order.status_changed"
    assert sent["data"] == {
        "order_id": order.order_id,
        "status": "failed",
        "reason": "Payment 9001 declined",
        "erp_order_number": "",
        "paytrace_transaction_id": "",
    }
    assert AuditEvent.objects.filter(action="callback.delivered", subject_id=str(order.pk)).count() == 1


def test_a_status_told_twice_is_delivered_once():
    with storefront() as (endpoint, url):
        order = OrderFactory(callback_url=url)
        for _ in range(2):
            order_status_move(order=order, to_status=Order.Status.FAILED, reason="declined")
        deliver_due_now()
        deliver_due_now()
    assert CallbackDelivery.objects.filter(order=order).count() == 1
    assert len(endpoint.received) == 1


def test_an_order_without_a_callback_url_sends_nothing():
    order = OrderFactory()
    order_status_move(order=order, to_status=Order.Status.FAILED, reason="declined")
    assert not CallbackDelivery.objects.exists()


def test_the_last_failed_attempt_is_a_dead_letter_alerted_and_audited(monkeypatch):
    monkeypatch.setattr(callbacks, "MAX_ATTEMPTS", 2)
    with storefront(500, 502) as (endpoint, url):
        order = OrderFactory(callback_url=url)
        order_status_move(order=order, to_status=Order.Status.FAILED, reason="declined")
        deliver_due_now()
        deliver_due_now()
        deliver_due_now()
    delivery = CallbackDelivery.objects.get(order=order)
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == (Status.DEAD, 2, "HTTP 502")
    assert len(endpoint.received) == 2
    assert AuditEvent.objects.filter(action="callback.dead", reason="HTTP 502").exists()
    assert Alert.objects.filter(title__contains=order.order_id).exists()


PUBLIC = lambda host, port: ["93.184.216.34"]  # noqa: E731


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://shop.example/cb", PUBLIC),  # not https
        ("https://user:pw@shop.example/cb", PUBLIC),
        ("https://127.0.0.1/cb", lambda host, port: ["127.0.0.1"]),
        ("https://169.254.169.254/latest/meta-data", lambda host, port: ["169.254.169.254"]),
        (
            "https://shop.example/cb",
            lambda host, port: ["93.184.216.34", "10.0.0.7"],
        ),  # one private is enough
        ("https://[::1]/cb", lambda host, port: ["::1"]),
        ("https://shop.example/cb", lambda host, port: ["::ffff:192.168.1.1"]),
        ("https://no-such-host.invalid/cb", lambda host, port: (_ for _ in ()).throw(OSError("NXDOMAIN"))),
        ("ftp://shop.example/cb", PUBLIC),
    ],
)
def test_production_refuses_urls_that_reach_inside(url, resolved):
    with pytest.raises(CallbackUrlRefused):
        callback_url_check(url, production=True, resolve=resolved)


def test_production_takes_https_to_a_public_host_and_dev_takes_local_http():
    callback_url_check("https://shop.example/cb", production=True, resolve=PUBLIC)
    callback_url_check("http://127.0.0.1:8000/cb", production=False)


def test_the_order_api_refuses_a_private_callback_url_in_production(api, settings):
    settings.PRODUCTION_LIKE = True
    ConnectionFactory(system="sage_300", base_url="http://127.0.0.1:9/", options={"company": "SAMLTD"})
    body = order_body(callback_url="https://169.254.169.254/latest/meta-data")
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400
    assert "callback_url" in response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_a_delivery_is_refused_when_the_host_has_turned_private_since(monkeypatch, settings):
    settings.PRODUCTION_LIKE = True
    monkeypatch.setattr("integrations.callback_urls.host_addresses", lambda host, port: ["10.1.2.3"])
    order = OrderFactory(callback_url="https://shop.example/cb")
    order_status_move(order=order, to_status=Order.Status.FAILED, reason="declined")
    deliver_due_now()
    delivery = CallbackDelivery.objects.get(order=order)
    assert delivery.status == Status.DEAD and delivery.last_error.startswith("URL refused")
