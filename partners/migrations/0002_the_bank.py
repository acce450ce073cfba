from django.db import migrations


def create_bank(apps, schema_editor):
    Partner = apps.get_model("partners", "Partner")
    Partner.objects.get_or_create(
        kind="BANK", defaults={"code": "BANK", "legal_name": "The Bank (ourselves)"}
    )


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial")]
    operations = [migrations.RunPython(create_bank, migrations.RunPython.noop)]
