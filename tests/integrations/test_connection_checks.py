"""Test connection: each system called over real HTTP with the stored credentials; what is shown and kept
is a status and a short classified reason, never the answer, and a closed port reads like an open one."""

from datetime import date

import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from integrations.check_reasons import (
    AUTHENTICATION_REFUSED,
    CREDENTIALS_MISSING,
    DROP_FOLDER_UNUSABLE,
    EXPORT_MISSING,
    OK,
    TLS_UNTRUSTED,
    UNREACHABLE,
)
from integrations.connection_checks import connection_check
from integrations.models import Connection
from portal.roles import INTEGRATION_ADMIN
from tests.factories import ConnectionFactory
from tests.integrations import raw_servers
from tests.staff import staff_user

# The simulators are served by the live server, which needs committed rows; the tiny raw servers do not.
live = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.django_db

SYSTEMS = ("paytrace", "sage_300", "sage_x3", "sage_pro")
STORED_SECRET = "stored-secret-pw"
REMOTE_BODY = b"<html>intranet wiki: SECRET-PAGE-4711, company SAMLTD</html>"


def remote_connection(system: str, base_url: str) -> Connection:
    return ConnectionFactory(
        system=system,
        base_url=base_url,
        credentials={"username": "u", "password": STORED_SECRET, "api_key": STORED_SECRET},
        options={"timeout": 1, "company": "SAMLTD", "folder": "SEED"},
    )


def kept(connection: Connection) -> tuple[bool, str]:
    connection.refresh_from_db()
    return connection.last_check_ok, connection.last_check_message


@live
def test_every_demo_system_answers_ok(demo_world):
    for system, connection in demo_world["connections"].items():
        check = connection_check(connection=connection)
        assert (check.ok, check.message) == (True, OK), system
        assert kept(connection) == (True, OK)
        assert connection.last_checked_at


@live
def test_wrong_credentials_read_authentication_refused_on_every_simulator(demo_world):
    """Before: the message quoted each system's refusal (and the Sage 300 company code)."""
    for system, connection in demo_world["connections"].items():
        wrong_key = "api_key" if system == "sage_pro" else "password"
        connection.credentials = {**connection.credentials, wrong_key: "wrong-password"}
        connection.save()
        check = connection_check(connection=connection)
        assert (check.ok, check.message) == (False, AUTHENTICATION_REFUSED), system
        assert kept(connection) == (False, AUTHENTICATION_REFUSED)


@live
def test_a_wrong_password_fails_even_with_a_cached_token(paytrace_connection, paytrace_client):
    today = date.today()
    paytrace_client.batches_export(start_date=today, end_date=today)  # a token is now cached
    paytrace_connection.credentials = {**paytrace_connection.credentials, "password": "wrong-password"}
    paytrace_connection.save()
    check = connection_check(connection=paytrace_connection)
    assert (check.ok, check.message) == (False, AUTHENTICATION_REFUSED)
    assert kept(paytrace_connection) == (False, AUTHENTICATION_REFUSED)


def test_missing_credentials_are_said_without_calling_anyone():
    with raw_servers.raw_server(raw_servers.http_answer(200, b"{}")) as server:
        blank = ConnectionFactory(system="paytrace", base_url=server.url, credentials={})
        assert connection_check(connection=blank).message == CREDENTIALS_MISSING
    assert server.received == b""


@pytest.mark.parametrize("system", SYSTEMS)
def test_closed_silent_reset_and_garbage_ports_all_read_unreachable(system):
    """An admin who points a connection at host:port learns nothing about what listens there."""
    answers = {"closed": f"http://127.0.0.1:{raw_servers.closed_port()}"}
    for name, handler in (
        ("garbage", raw_servers.garbage),
        ("silent", raw_servers.silence),
        ("reset", raw_servers.reset),
    ):
        with raw_servers.raw_server(handler) as server:
            answers[name] = connection_check(connection=remote_connection(system, server.url)).message
    answers["closed"] = connection_check(connection=remote_connection(system, answers["closed"])).message
    assert answers == dict.fromkeys(answers, UNREACHABLE)
    assert set(Connection.objects.values_list("last_check_message", flat=True)) == {UNREACHABLE}


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("status", [500, 404, 200])
def test_an_http_answer_is_classified_and_its_body_never_shown_or_kept(system, status):
    with raw_servers.raw_server(raw_servers.http_answer(status, REMOTE_BODY)) as server:
        connection = remote_connection(system, server.url)
        check = connection_check(connection=connection)
    assert not check.ok
    assert check.message.startswith("unexpected answer"), check.message
    ok, message = kept(connection)
    assert (ok, message) == (False, check.message)
    for text in (check.message, message):
        assert "SECRET-PAGE" not in text and "SAMLTD" not in text and "wiki" not in text


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_401_from_anywhere_reads_authentication_refused(system):
    with raw_servers.raw_server(raw_servers.http_answer(401, REMOTE_BODY)) as server:
        check = connection_check(connection=remote_connection(system, server.url))
    if system == "paytrace":  # its ping is unauthenticated: a 401 there is not PayTrace's answer
        assert check.message == "unexpected answer"
    else:
        assert check.message == AUTHENTICATION_REFUSED


@pytest.mark.parametrize("system", ["paytrace", "sage_300"])
def test_an_untrusted_certificate_is_a_tls_error_and_tls_to_garbage_is_unreachable(system, tmp_path):
    with raw_servers.raw_server(raw_servers.self_signed_tls(tmp_path)) as server:
        url = f"https://127.0.0.1:{server.port}"
        assert connection_check(connection=remote_connection(system, url)).message == TLS_UNTRUSTED
    assert STORED_SECRET.encode() not in server.received  # the handshake failed before anything was sent
    with raw_servers.raw_server(raw_servers.garbage) as server:
        url = f"https://127.0.0.1:{server.port}"
        assert connection_check(connection=remote_connection(system, url)).message == UNREACHABLE


def test_a_sage_pro_drop_folder_says_what_is_missing_without_its_path(tmp_path, settings):
    settings.SAGEPRO_DROP_ROOT = str(tmp_path)
    folder = tmp_path / "drop"
    connection = ConnectionFactory(
        system="sage_pro",
        base_url="https://unused.example.com",
        credentials={},
        options={"transport": "csv", "drop_folder": str(folder)},
    )
    assert connection_check(connection=connection).message == DROP_FOLDER_UNUSABLE
    for name in ("in", "out", "export"):
        (folder / name).mkdir(parents=True)
    assert connection_check(connection=connection).message == EXPORT_MISSING
    (folder / "export" / "customers.csv").write_text("CUSTNO\n")
    assert connection_check(connection=connection).message == OK


def test_the_database_keeps_only_classified_reasons():
    connection = ConnectionFactory()
    for allowed in (OK, UNREACHABLE, "unexpected answer (HTTP 503)", ""):
        Connection.objects.filter(pk=connection.pk).update(last_check_message=allowed)
    for body in (REMOTE_BODY.decode(), "unexpected answer (HTTP 503) <html>", "Signed on to company SAMLTD"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Connection.objects.filter(pk=connection.pk).update(last_check_message=body)


@live
def test_command_reports_each_connection_and_fails_when_one_does(demo_world, capsys):
    call_command("check_connections")
    out = capsys.readouterr().out
    assert out.count(": ok\n") == 4 and "[4/4]" in out
    ConnectionFactory(
        name="zz-broken", system="sage_pro", base_url="http://127.0.0.1:9/", options={"timeout": 1}
    )
    ConnectionFactory(name="qa-elsewhere", environment="qa", base_url="http://127.0.0.1:9/")
    with pytest.raises(CommandError, match="1 of 5 connection"):
        call_command("check_connections")
    assert "zz-broken: FAILED: unreachable\n" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no active connection named 'qa-elsewhere'"):
        call_command("check_connections", name="qa-elsewhere")


@live
def test_admin_action_tests_this_environments_connections_only(demo_world, client):
    """Before: the message named the Sage 300 company and its customer count, read from the answer."""
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    elsewhere = ConnectionFactory(name="prod-paytrace", environment="prod")
    sage = demo_world["connections"]["sage_300"]
    with raw_servers.raw_server(raw_servers.http_answer(500, REMOTE_BODY)) as server:
        moved = remote_connection("sage_x3", server.url)
        response = client.post(
            reverse("admin:integrations_connection_changelist"),
            {"action": "test_connections", helpers.ACTION_CHECKBOX_NAME: [sage.pk, moved.pk, elsewhere.pk]},
            follow=True,
        )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Sage 300 (sandbox): ok" in shown, shown
    assert f"{moved.name}: failed: unexpected answer (HTTP 500)" in shown, shown
    assert any("1 connection(s) of other environments skipped" in m for m in shown), shown
    page = response.content.decode()
    assert "SECRET-PAGE" not in page and "SAMLTD" not in page
    elsewhere.refresh_from_db()
    assert elsewhere.last_checked_at is None
