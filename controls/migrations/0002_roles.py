"""The staff roles as groups (controls.roles): operator, approver, finance, risk, auditor,
administrator. Every later `migrate` re-syncs their permissions (controls.apps)."""

from django.db import migrations


def roles_create(apps, schema_editor):
    from controls.roles import permissions_create, roles_sync

    permissions_create(apps)
    roles_sync(apps)


def roles_drop(apps, schema_editor):
    from controls.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("controls", "0001_initial")]
    operations = [migrations.RunPython(roles_create, roles_drop)]
