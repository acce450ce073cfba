# Reserved for the work in progress on this part; its operations are filled in by that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("partners", "0006_china_2026_holidays")]
    operations: list = []
