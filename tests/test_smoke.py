import pytest

from integrations.models import Connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def test_connection_credentials_are_encrypted_at_rest():
    connection = ConnectionFactory(credentials={"username": "u", "password": "s3cret"})
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [connection.pk])
        stored = cursor.fetchone()[0]
    assert "s3cret" not in stored
    assert Connection.objects.get(pk=connection.pk).credentials == {"username": "u", "password": "s3cret"}
