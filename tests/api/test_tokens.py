"""API keys stored as digests only, shown once, audited when made and revoked; the token_create command;
DRF's clear-text keys hashed by the migration and still working."""

import hashlib
import importlib
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from integrations.models import AuditEvent
from payments.api.throttling import TokenRateThrottle
from payments.services.api_tokens import ApiTokenRefused, api_token_create, api_token_revoke
from tests.api.conftest import storefront_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def storefront(username: str = "storefront"):
    return storefront_user(username)


def api_get(key: str, path: str = "/api/v1/orders/NOPE/"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(path)


def database_text() -> str:
    """Every row of every table, as text: where a stored key would show."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


def test_a_key_is_stored_only_as_its_digest_and_authenticates():
    issued = api_token_create(actor=None, user=storefront())
    token = AuthToken.objects.get()
    assert issued.key.startswith("pys_") and len(issued.key) == 4 + 64
    assert token.digest == hashlib.sha512(issued.key.encode()).hexdigest()
    assert token.token_key == issued.key[:15]  # the prefix shown in lists: 11 of 64 secret hex digits
    stored = database_text()
    assert issued.key not in stored and issued.key[15:] not in stored
    assert token.expiry is None  # storefront keys do not expire unless API_TOKEN_TTL_DAYS says so
    assert api_get(issued.key).status_code == 404  # authenticated, and the order is unknown


def test_api_token_ttl_days_sets_an_expiry_and_use_never_extends_it(settings):
    with override_settings(REST_KNOX={**settings.REST_KNOX, "TOKEN_TTL": timedelta(days=90)}):
        issued = api_token_create(actor=None, user=storefront())
        expiry = issued.token.expiry
        assert timedelta(days=89) < expiry - timezone.now() <= timedelta(days=90)
        assert api_get(issued.key).status_code == 404
        assert AuthToken.objects.get().expiry == expiry


def test_an_expired_key_gets_a_401():
    issued = api_token_create(actor=None, user=storefront())
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert api_get(issued.key).status_code == 401


def test_creation_and_revocation_are_audited_by_user_and_prefix_never_key():
    root = UserFactory(username="root", is_superuser=True)
    issued = api_token_create(actor=root, user=storefront())
    digest = issued.token.digest
    api_token_revoke(actor=root, token=issued.token)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [(e.action, e.actor, e.subject_type, e.subject_id) for e in events] == [
        ("api_token_created", root, "user", str(issued.token.user_id)),
        ("api_token_revoked", root, "user", str(issued.token.user_id)),
    ]
    for event in events:
        assert event.data == {"user": "storefront", "token_prefix": issued.key[:15], "expiry": None}
        text = json.dumps([event.data, event.reason, event.subject_id])
        assert issued.key not in text and digest not in text
    assert not AuthToken.objects.exists()


def test_a_revoked_key_gets_a_401_in_the_error_shape():
    issued = api_token_create(actor=None, user=storefront())
    assert api_get(issued.key).status_code == 404
    api_token_revoke(actor=None, token=issued.token)
    response = api_get(issued.key)
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed", "message": "Invalid token."}


def test_only_a_superuser_makes_or_revokes_another_users_token():
    root = UserFactory(username="root", is_superuser=True)
    integration_admin = UserFactory(username="integration-admin")
    with pytest.raises(ApiTokenRefused, match="Only a superuser"):
        api_token_create(actor=integration_admin, user=root)
    theirs = api_token_create(actor=root, user=storefront())
    with pytest.raises(ApiTokenRefused, match="Only a superuser"):
        api_token_revoke(actor=integration_admin, token=theirs.token)
    own = api_token_create(actor=integration_admin, user=integration_admin)
    api_token_revoke(actor=integration_admin, token=own.token)
    assert list(AuthToken.objects.all()) == [theirs.token]
    assert list(AuditEvent.objects.values_list("action", "actor__username")) == [
        ("api_token_revoked", "integration-admin"),
        ("api_token_created", "integration-admin"),
        ("api_token_created", "root"),
    ]


def test_an_inactive_user_gets_no_token():
    user = UserFactory(username="gone", is_active=False)
    with pytest.raises(ApiTokenRefused, match="inactive"):
        api_token_create(actor=None, user=user)
    assert not AuthToken.objects.exists() and not AuditEvent.objects.exists()


def test_the_throttle_keeps_a_tokens_digest_never_its_key():
    issued = api_token_create(actor=None, user=storefront())
    cache_key = TokenRateThrottle().get_cache_key(SimpleNamespace(auth=issued.token), view=None)
    assert issued.token.digest in cache_key and issued.key[15:] not in cache_key


def test_token_create_prints_the_key_once_and_audits(capsys):
    storefront()
    call_command("token_create", user="storefront")
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("pys_") and key[:15] in err and key not in err
    assert api_get(key).status_code == 404
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.reason) == ("api_token_created", None, "token_create command")
    assert key not in database_text()


@pytest.mark.parametrize(
    ("username", "message"), [("nobody", "no user named 'nobody'"), ("gone", "gone is inactive")]
)
def test_token_create_exits_2_with_a_message(username, message):
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match=message) as refused:
        call_command("token_create", user=username)
    assert refused.value.returncode == 2
    assert not AuthToken.objects.exists()


def test_the_schema_documents_the_token_header():
    schema = APIClient().get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"] == {
        "knoxApiToken": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }
    }


def test_the_migration_hashes_drf_keys_which_keep_working_and_drops_their_table():
    migration = importlib.import_module("payments.migrations.0005_api_tokens_hashed")
    user = storefront()
    drf_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's own example key: 40 hex characters
    created = timezone.now() - timedelta(days=400)
    authtoken = ContentType.objects.create(app_label="authtoken", model="token")
    Permission.objects.create(content_type=authtoken, codename="view_token", name="Can view token")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz, user_id integer)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [drf_key, created, user.pk])

    with connection.schema_editor() as schema_editor:
        migration.drf_tokens_hash(apps, schema_editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    assert not ContentType.objects.filter(app_label="authtoken").exists()
    assert not Permission.objects.filter(codename="view_token").exists()
    token = AuthToken.objects.get()
    assert (token.user, token.created, token.expiry, token.token_key) == (user, created, None, drf_key[:15])
    assert drf_key not in database_text()
    assert api_get(drf_key).status_code == 404  # the storefront's key still works


def test_the_migration_leaves_a_database_without_drf_tokens_alone():
    migration = importlib.import_module("payments.migrations.0005_api_tokens_hashed")
    with connection.schema_editor() as schema_editor:
        migration.drf_tokens_hash(apps, schema_editor)
    assert not AuthToken.objects.exists()
