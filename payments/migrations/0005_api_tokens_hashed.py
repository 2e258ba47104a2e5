"""DRF's clear-text tokens become knox tokens, keeping each key working, then their table is dropped.

Each key is stored as knox stores its own: the digest knox's `hash_token` computes, and the key's first
15 characters as the lookup prefix. Knox authenticates a key of any length by that prefix and digest, so
storefronts keep sending the key they have. The `authtoken` app is no longer installed, so its table is
read with SQL; its content types (and so its permissions) and migration records go too. A database that
never had DRF tokens is left as it is.
"""

from django.db import migrations
from knox.crypto import hash_token
from knox.settings import CONSTANTS

DRF_TABLE = "authtoken_token"


def drf_tokens_hash(apps, schema_editor):
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TABLE}")  # noqa: S608 (a constant)
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        digest = hash_token(key)
        AuthToken(
            digest=digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=None
        ).save(force_insert=True)
        AuthToken.objects.filter(pk=digest).update(created=created)  # auto_now_add set it to now
    schema_editor.execute(f"DROP TABLE {DRF_TABLE}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_transaction_risk_indexes"),
        ("knox", "0009_extend_authtoken_field"),
        # Deleting authtoken's content types sets their admin log entries' type to null.
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(drf_tokens_hash, migrations.RunPython.noop)]
