"""Alerts reach finance by email and by a JSON POST to the alert webhook, once per channel."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from integrations.alerts import alert_deliver, alert_raise
from integrations.models import Alert
from tests.factories import ErpPostingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert_receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", received
    server.shutdown()


def test_dead_letter_alert_is_emailed_and_posted_once(
    settings, alert_receiver, django_capture_on_commit_callbacks
):
    url, received = alert_receiver
    settings.ALERT_EMAILS = ["finance@example.com"]
    settings.ALERT_WEBHOOK_URL = url
    posting = ErpPostingFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        alert = alert_raise(
            title="Receipt PT-1 is a dead letter", message="[FieldInvalid] bad", subject=posting
        )
    assert len(callbacks) == 1  # delivery is enqueued after commit, not done inside the transaction

    alert_deliver(alert=alert)
    alert_deliver(alert=alert)  # a redelivered task sends nothing twice
    alert.refresh_from_db()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["finance@example.com"]
    assert "dead letter" in mail.outbox[0].subject
    assert [body["title"] for body in received] == ["Receipt PT-1 is a dead letter"]
    assert received[0]["subject_type"] == "erpposting" and received[0]["subject_id"] == str(posting.pk)
    assert alert.emailed_at and alert.webhook_sent_at and alert.delivery_error == ""


def test_an_unreachable_alert_webhook_is_recorded_not_raised(settings):
    settings.ALERT_EMAILS = []
    settings.ALERT_WEBHOOK_URL = "http://127.0.0.1:9/unreachable"
    alert = Alert.objects.create(title="x")
    alert_deliver(alert=alert)
    alert.refresh_from_db()
    assert alert.webhook_sent_at is None
    assert alert.delivery_error.startswith("webhook:")


def test_card_numbers_never_reach_an_alert():
    alert = alert_raise(title="card 4012000098765439 failed", message="pan 4012 0000 9876 5439")
    assert "4012000098765439" not in alert.title and "5439" in alert.title
    assert "9876" not in alert.message
