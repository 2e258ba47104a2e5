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


def test_a_dead_letter_alert_writes_the_erp_code_once():
    from integrations.outbox.poster import PostSummary, _Attempt, _failed
    from integrations.sage.mapping import MappingMissing

    posting = ErpPostingFactory(reference="PT-9", status="in_progress")
    summary = PostSummary()
    _failed(_Attempt(posting, connector=None, summary=summary), MappingMissing("No status mapping."), summary)

    alert = Alert.objects.get(subject_type="erpposting", subject_id=str(posting.pk))
    assert alert.message == f"{posting.connection.name}: [MappingMissing] No status mapping."
    posting.refresh_from_db()
    assert posting.last_error.count("[MappingMissing]") == 1 and posting.last_error_code == "MappingMissing"


def test_an_unexpected_error_is_named_by_its_type_once():
    from integrations.outbox.poster import PostSummary, _Attempt, _failed

    posting = ErpPostingFactory(reference="PT-10", status="in_progress", max_attempts=1)
    summary = PostSummary()
    _failed(_Attempt(posting, connector=None, summary=summary), KeyError("amount"), summary)

    alert = Alert.objects.get(subject_type="erpposting", subject_id=str(posting.pk))
    assert alert.message == f"{posting.connection.name}: [KeyError] 'amount'"


ALERTS_URL = "/admin/integrations/alert/"


def test_a_reviewer_acknowledges_alerts_once_and_it_is_audited(client):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.contrib.messages import get_messages

    from integrations.models import AuditEvent
    from portal.roles import FINANCE_REVIEWER
    from tests.staff import staff_user

    reviewer = staff_user(role=FINANCE_REVIEWER)
    client.force_login(reviewer)
    alert = alert_raise(title="Receipt PT-1 is a dead letter", subject=ErpPostingFactory())
    picked = {"action": "acknowledge_alerts", ACTION_CHECKBOX_NAME: [alert.pk]}

    page = client.post(ALERTS_URL, picked)
    assert b"Receipt PT-1 is a dead letter" in page.content and b"Yes, acknowledge" in page.content
    alert.refresh_from_db()
    assert alert.acknowledged_at is None  # nothing happens before the confirmation

    done = client.post(ALERTS_URL, {**picked, "confirmed": "yes"})
    alert.refresh_from_db()
    assert alert.acknowledged_by == reviewer and alert.acknowledged_at is not None
    assert [m.message for m in get_messages(done.wsgi_request)] == ["1 alert acknowledged."]
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert event.actor == reviewer and event.subject_id == str(alert.pk)
    listed = client.get(ALERTS_URL).content.decode()  # shows (and so clears) the message above
    assert f"{reviewer.username} at " in listed

    again = client.post(ALERTS_URL, {**picked, "confirmed": "yes"})
    assert [(m.level_tag, m.message) for m in get_messages(again.wsgi_request)] == [
        ("warning", "Nothing was acknowledged: none of the 1 alert selected could be.")
    ]
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1
