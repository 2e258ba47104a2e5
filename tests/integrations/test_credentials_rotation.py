"""Key rotation: FIELD_ENCRYPTION_KEY is a list whose first key encrypts and every key decrypts, and
`credentials_reencrypt` moves every stored credential onto the first key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models.functions import Cast
from django.test import override_settings

from integrations.models import Connection
from tests.factories import ConnectionFactory

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = {"username": "api", "password": "s3cret-for-rotation"}

pytestmark = pytest.mark.django_db


def _stored(connection: Connection) -> bytes:
    token = Cast("credentials", output_field=models.TextField())
    return (
        Connection.objects.annotate(token=token)
        .values_list("token", flat=True)
        .get(pk=connection.pk)
        .encode()
    )


def _reencrypt() -> str:
    out = StringIO()
    call_command("credentials_reencrypt", stdout=out)
    return out.getvalue()


def test_the_first_key_encrypts_and_every_key_decrypts():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        before = ConnectionFactory(credentials=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW}, {OLD}"):
        assert Connection.objects.get(pk=before.pk).credentials == SECRET
        after = ConnectionFactory(credentials=SECRET)
    assert Fernet(NEW).decrypt(_stored(after))
    with override_settings(FIELD_ENCRYPTION_KEY=NEW), pytest.raises(ImproperlyConfigured, match="no key"):
        Connection.objects.get(pk=before.pk)


def test_reencrypt_moves_every_credential_onto_the_first_key_once():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        old = [ConnectionFactory(credentials={**SECRET, "n": n}) for n in range(3)]
    with override_settings(FIELD_ENCRYPTION_KEY=NEW):
        current = ConnectionFactory(credentials=SECRET)
    kept = _stored(current)
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW},{OLD}"):
        output = _reencrypt()
        assert "connections (credentials): 4/4" in output  # progress
        assert "3 re-encrypted with the first key, 1 already under it." in output
        assert _stored(current) == kept  # already under the first key: not rewritten
        again = _reencrypt()
        assert "0 re-encrypted with the first key, 4 already under it." in again
    with override_settings(FIELD_ENCRYPTION_KEY=NEW):  # the old key can go now
        for n, connection in enumerate(old):
            assert Connection.objects.get(pk=connection.pk).credentials == {**SECRET, "n": n}


def test_reencrypt_keeps_what_it_cannot_decrypt_and_exits_2_naming_it():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        lost = ConnectionFactory(credentials=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEY=NEW):
        fine = ConnectionFactory(credentials=SECRET)
        before = _stored(lost)
        with pytest.raises(CommandError, match=rf"connection {lost.pk}\. Add the key") as raised:
            _reencrypt()
        assert raised.value.returncode == 2
        assert _stored(lost) == before
        assert Connection.objects.get(pk=fine.pk).credentials == SECRET


@pytest.mark.parametrize("keys", ["not-a-fernet-key", f"{NEW},", ""])
def test_reencrypt_exits_2_on_a_bad_key(keys):
    ConnectionFactory(credentials=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEY=keys):
        with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEY") as raised:
            _reencrypt()
    assert raised.value.returncode == 2


def test_a_blank_column_needs_no_key():
    connection = ConnectionFactory()
    Connection.objects.filter(pk=connection.pk).update(
        credentials=models.Value("", output_field=models.TextField())
    )
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW},{OLD}"):
        assert "0 re-encrypted" in _reencrypt()
        assert Connection.objects.get(pk=connection.pk).credentials == {}
