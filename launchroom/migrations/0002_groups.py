"""Create the staff role groups with least privilege (see launchroom/roles.py)."""

from django.db import migrations


def create_groups(apps, schema_editor):
    from launchroom.tenants.roles import sync_groups

    sync_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("launchroom", "0001_initial"),
        ("billing", "0001_initial"),
        ("evidence", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
