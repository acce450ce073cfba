# Reserved for the work in progress on this part; its operations are filled in by that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_db_roles")]
    operations: list = []
