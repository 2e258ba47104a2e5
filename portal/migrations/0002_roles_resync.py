from django.db import migrations


def resync_roles(apps, schema_editor):
    from portal.roles import roles_sync

    roles_sync(group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    """Finance reviewers also refund/void payments, undo applications and manage subscriptions."""

    dependencies = [("portal", "0001_roles")]

    operations = [migrations.RunPython(resync_roles, migrations.RunPython.noop)]
