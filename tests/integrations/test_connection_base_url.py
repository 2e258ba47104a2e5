"""Credentials entered for one address are never sent to another: moving a connection's base URL clears
them, in the admin and through the service everything else uses."""

import base64

import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.check_reasons import AUTHENTICATION_REFUSED, CREDENTIALS_MISSING, OK
from integrations.connection_checks import connection_check
from integrations.connection_services import connection_update
from integrations.models import Connection
from portal import demo
from portal.roles import INTEGRATION_ADMIN
from tests.factories import ConnectionFactory
from tests.integrations import raw_servers
from tests.staff import staff_user

pytestmark = pytest.mark.django_db

SECRET = "prod-secret-pw"
CREDENTIALS = {"username": "api-user", "password": SECRET}


@pytest.fixture
def integrator(client):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    return client


def change_form(connection: Connection, **changes) -> dict:
    data = {
        "name": connection.name,
        "system": connection.system,
        "environment": connection.environment,
        "base_url": connection.base_url,
        "is_active": "on",
        "options": '{"company": "SAMLTD", "timeout": 1}',
        "credentials_update": "",
    }
    return {**data, **changes}


def post_change(client, connection: Connection, **changes) -> list[str]:
    response = client.post(
        reverse("admin:integrations_connection_change", args=[connection.pk]),
        change_form(connection, **changes),
        follow=True,
    )
    assert response.status_code == 200
    assert not (response.context.get("adminform") and response.context["adminform"].form.errors)
    return [str(m) for m in get_messages(response.wsgi_request)]


def sent_secret(received: bytes) -> bool:
    basic = base64.b64encode(f"api-user:{SECRET}".encode())
    return SECRET.encode() in received or basic in received


def test_moving_the_base_url_in_the_admin_clears_the_credentials_and_says_so(integrator):
    connection = ConnectionFactory(
        system="sage_300", base_url="https://erp.example.com/sage300", credentials=CREDENTIALS
    )
    with raw_servers.raw_server(raw_servers.http_answer(401, b"who are you?")) as attacker:
        shown = post_change(integrator, connection, base_url=attacker.url)
        connection.refresh_from_db()
        assert connection.base_url == attacker.url
        assert connection.credentials == {}
        assert any("stored credentials were cleared: enter them again" in m for m in shown), shown
        page = integrator.get(reverse("admin:integrations_connection_change", args=[connection.pk]))
        assert "none" in page.content.decode()  # "Stored credentials: none"

        integrator.post(
            reverse("admin:integrations_connection_changelist"),
            {"action": "test_connections", helpers.ACTION_CHECKBOX_NAME: [connection.pk]},
        )
    assert not sent_secret(bytes(attacker.received))
    connection.refresh_from_db()
    assert connection.last_check_message == AUTHENTICATION_REFUSED


def test_a_moved_paytrace_connection_calls_no_one_until_credentials_are_entered_again(integrator):
    connection = ConnectionFactory(system="paytrace", credentials=CREDENTIALS)
    with raw_servers.raw_server(raw_servers.http_answer(200, b"{}", "application/json")) as attacker:
        post_change(integrator, connection, base_url=attacker.url, options="{}")
        connection.refresh_from_db()
        assert connection_check(connection=connection).message == CREDENTIALS_MISSING
    assert attacker.received == b""


def test_new_credentials_entered_with_the_move_are_kept_and_other_edits_keep_the_stored_ones(integrator):
    connection = ConnectionFactory(system="sage_300", credentials=CREDENTIALS)
    shown = post_change(integrator, connection, name="Sage 300 (renamed)", is_active="")
    connection.refresh_from_db()
    assert connection.credentials == CREDENTIALS and connection.name == "Sage 300 (renamed)"
    assert not any("cleared" in m for m in shown), shown

    shown = post_change(
        integrator,
        connection,
        base_url="https://erp2.example.com/sage300",
        credentials_update='{"username": "api-user", "password": "entered-again"}',
    )
    connection.refresh_from_db()
    assert connection.base_url == "https://erp2.example.com/sage300"
    assert connection.credentials == {"username": "api-user", "password": "entered-again"}
    assert not any("cleared" in m for m in shown), shown


def test_adding_a_connection_keeps_the_credentials_entered_with_it(integrator):
    response = integrator.post(
        reverse("admin:integrations_connection_add"),
        {
            "name": "Sage X3 (new)",
            "system": "sage_x3",
            "environment": "dev",
            "base_url": "https://x3.example.com",
            "is_active": "on",
            "options": '{"folder": "SEED"}',
            "credentials_update": '{"username": "admin", "password": "pw"}',
        },
    )
    assert response.status_code == 302
    assert Connection.objects.get(name="Sage X3 (new)").credentials == {"username": "admin", "password": "pw"}


def test_the_service_drops_credentials_only_when_the_base_url_moves():
    connection = ConnectionFactory(base_url="https://api.paytrace.com", credentials=CREDENTIALS)
    assert connection_update(connection=connection, data={"is_active": False}) is False
    assert Connection.objects.get(pk=connection.pk).credentials == CREDENTIALS

    assert connection_update(connection=connection, data={"base_url": "https://evil.example.com"}) is True
    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.base_url, stored.credentials) == ("https://evil.example.com", {})

    moved_with = connection_update(
        connection=connection, data={"base_url": "https://api.paytrace.com"}, credentials=CREDENTIALS
    )
    assert moved_with is False
    assert Connection.objects.get(pk=connection.pk).credentials == CREDENTIALS


def test_the_service_refuses_what_the_model_refuses():
    connection = ConnectionFactory(credentials=CREDENTIALS)
    with pytest.raises(ValidationError):
        connection_update(connection=connection, data={"base_url": "not a url"})
    assert Connection.objects.get(pk=connection.pk).credentials == CREDENTIALS


@pytest.mark.django_db(transaction=True)
def test_the_demo_follows_a_new_address_with_its_own_credentials(live_server):
    before = demo.demo_connections_ensure(base_url="http://127.0.0.1:1")
    moved = demo.demo_connections_ensure(base_url=live_server.url)
    demo.demo_sandboxes_seed()
    for system, connection in moved.items():
        assert connection.pk == before[system].pk
        assert connection.base_url.startswith(live_server.url)
        assert connection_check(connection=connection).message == OK, system
