"""Outages alert: a connection whose calls keep failing raises an alert after the set time, shows as down on
the connections page and the dashboard, and clears (with a "back" notice) once a call works again."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from integrations import connection_health
from integrations.alerts import alert_deliver
from integrations.check_reasons import AUTHENTICATION_REFUSED, UNREACHABLE
from integrations.connection_health import call_outcome_reason, connection_call_observe
from integrations.http import TransportError
from integrations.models import Alert, Connection
from integrations.paytrace.errors import PayTraceError
from payments.services.paytrace import paytrace_transactions_sync
from portal.dashboard import dashboard_get
from tests.factories import ConnectionFactory
from tests.integrations.raw_servers import closed_port


def _sync_fails(connection: Connection) -> None:
    with pytest.raises(PayTraceError):
        paytrace_transactions_sync(connection=connection)


@pytest.mark.django_db(transaction=True)
def test_a_paytrace_outage_alerts_shows_as_down_and_clears_when_calls_work_again(
    paytrace_connection, admin_client, settings, monkeypatch
):
    monkeypatch.setattr(connection_health, "FAILURE_WRITE_SECONDS", 0)  # each failure counts at once
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.CONNECTION_OUTAGE_ALERT_MINUTES = 3
    working_url = paytrace_connection.base_url
    Connection.objects.filter(pk=paytrace_connection.pk).update(base_url=f"http://127.0.0.1:{closed_port()}")
    connection = Connection.objects.get(pk=paytrace_connection.pk)

    _sync_fails(connection)
    connection.refresh_from_db()
    assert connection.failing_since is not None and connection.last_failure_reason == UNREACHABLE
    assert not Alert.objects.exists()  # not yet: a blip is no outage
    (health,) = dashboard_get().unhealthy
    assert (health.name, health.outage) == (connection.name, False)

    # Four minutes on, the calls still fail: one alert, by email and webhook, and the connection shows down.
    Connection.objects.filter(pk=connection.pk).update(failing_since=timezone.now() - timedelta(minutes=4))
    _sync_fails(connection)
    _sync_fails(connection)
    (alert,) = Alert.objects.all()
    assert alert.severity == Alert.Severity.CRITICAL and connection.name in alert.title
    assert (alert.subject_type, alert.subject_id) == ("connection", str(connection.pk))
    assert UNREACHABLE in alert.title and "127.0.0.1" not in alert.message
    alert_deliver(alert=alert)
    assert mail.outbox[-1].to == ["ops@example.com"] and connection.name in mail.outbox[-1].subject
    assert dashboard_get().unhealthy[0].outage
    page = admin_client.get("/admin/integrations/connection/").content.decode()
    assert "DOWN since" in page and UNREACHABLE in page
    assert "down" in admin_client.get("/admin/").content.decode()

    Connection.objects.filter(pk=connection.pk).update(base_url=working_url)
    connection.refresh_from_db()
    paytrace_transactions_sync(connection=connection)
    connection.refresh_from_db()
    assert connection.failing_since is None and connection.outage_alerted_at is None
    assert connection.last_success_at is not None
    back = Alert.objects.exclude(pk=alert.pk).get()
    assert back.severity == Alert.Severity.INFO and "back" in back.title
    assert dashboard_get().unhealthy == []


def test_what_counts_as_a_failed_call():
    unreachable = TransportError("connection error", maybe_applied=False)
    assert call_outcome_reason(status=None, error=unreachable) == UNREACHABLE
    assert call_outcome_reason(status=503, error=None) == "unexpected answer (HTTP 503)"
    assert call_outcome_reason(status=401, error=None) == AUTHENTICATION_REFUSED
    assert call_outcome_reason(status=404, error=None) == ""  # the system answered: it is up
    assert call_outcome_reason(status=400, error=None) == ""
    assert call_outcome_reason(status=429, error=None) is None  # busy, not down


@pytest.mark.django_db
def test_a_call_counts_for_the_connection_whose_base_url_it_extends():
    server = ConnectionFactory(system="sage_300", base_url="https://erp.example/sage300")
    other = ConnectionFactory(system="sage_x3", base_url="https://erp.example/x3")
    connection_call_observe("https://erp.example/sage300/-/SAMLTD", 503, None)
    server.refresh_from_db()
    other.refresh_from_db()
    assert server.failing_since is not None and server.last_failure_reason == "unexpected answer (HTTP 503)"
    assert other.failing_since is None
    connection_call_observe("https://erp.example/sage300/-/SAMLTD", 200, None)  # a change: written at once
    server.refresh_from_db()
    assert server.failing_since is None and server.last_success_at is not None
    connection_call_observe("https://erp.example/sage300/-/SAMLTD", 200, None)
    connection_call_observe("https://erp.example/sage300/-/SAMLTD", 503, None)
    server.refresh_from_db()
    assert server.failing_since is not None
