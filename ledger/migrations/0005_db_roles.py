# Reserved for the work in progress on this part; its operations are filled in by that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_db_defaults")]
    operations: list = []
