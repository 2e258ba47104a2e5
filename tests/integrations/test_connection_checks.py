"""Test connection: each system called over real HTTP with the stored credentials, the answer kept."""

from datetime import date

import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse

from integrations.connection_checks import connection_check
from integrations.models import Connection
from portal.roles import INTEGRATION_ADMIN
from tests.factories import ConnectionFactory
from tests.staff import staff_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_demo_system_answers(demo_world):
    for system, connection in demo_world["connections"].items():
        check = connection_check(connection=connection)
        assert check.ok, (system, check.message)
        connection.refresh_from_db()
        assert connection.last_check_ok is True and connection.last_checked_at
        assert connection.last_check_message == check.message
    assert "Signed in to PayTrace" in Connection.objects.get(system="paytrace").last_check_message


def test_a_wrong_password_fails_even_with_a_cached_token(paytrace_connection, paytrace_client):
    today = date.today()
    paytrace_client.batches_export(start_date=today, end_date=today)  # a token is now cached
    paytrace_connection.credentials = {**paytrace_connection.credentials, "password": "wrong-password"}
    paytrace_connection.save()
    check = connection_check(connection=paytrace_connection)
    assert not check.ok
    assert "wrong-password" not in check.message
    paytrace_connection.refresh_from_db()
    assert paytrace_connection.last_check_ok is False


def test_unreachable_and_incomplete_connections_are_answers_not_crashes(live_server):
    down = ConnectionFactory(
        system="sage_300", base_url="http://127.0.0.1:9/x", options={"company": "X", "timeout": 1}
    )
    assert not connection_check(connection=down).ok
    blank = ConnectionFactory(
        system="paytrace", base_url=f"{live_server.url}/sandbox/paytrace", credentials={}
    )
    check = connection_check(connection=blank)
    assert not check.ok and "lack 'username'" in check.message


def test_command_reports_each_connection_and_fails_when_one_does(demo_world, capsys):
    call_command("check_connections")
    out = capsys.readouterr().out
    assert out.count(": ok: ") == 4 and "[4/4]" in out
    ConnectionFactory(
        name="zz-broken", system="sage_pro", base_url="http://127.0.0.1:9/", options={"timeout": 1}
    )
    ConnectionFactory(name="qa-elsewhere", environment="qa", base_url="http://127.0.0.1:9/")
    with pytest.raises(CommandError, match="1 of 5 connection"):
        call_command("check_connections")
    assert "zz-broken: FAILED" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no active connection named 'qa-elsewhere'"):
        call_command("check_connections", name="qa-elsewhere")


def test_admin_action_tests_this_environments_connections_only(demo_world, client):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    elsewhere = ConnectionFactory(name="prod-paytrace", environment="prod")
    sage = demo_world["connections"]["sage_300"]
    response = client.post(
        reverse("admin:integrations_connection_changelist"),
        {"action": "test_connections", helpers.ACTION_CHECKBOX_NAME: [sage.pk, elsewhere.pk]},
        follow=True,
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Sage 300 (sandbox): Signed on to Sage 300 company SAMLTD" in m for m in shown), shown
    assert any("1 connection(s) of other environments skipped" in m for m in shown), shown
    elsewhere.refresh_from_db()
    assert elsewhere.last_checked_at is None
