"""Room on each page for the run's updates to be HOT (heap-only: no new index entries).

Every day the run updates ~30,000 loans, their shares and instalments, and ages every overdue
loan (its DPD). On full pages each update writes a new tuple elsewhere and a new entry in every
index (measured: 5 WAL records per aged loan); with free space on the page and no indexed column
changed it stays on the page. New pages get the room at once; a table filled before this
migration gets it when rewritten once (VACUUM FULL or CLUSTER, in a maintenance window)."""

from django.db import migrations

TABLES = {"lending_loan": 80, "lending_loanshare": 80, "lending_installment": 85}


class Migration(migrations.Migration):
    dependencies = [("lending", "0012_fewer_indexes_and_checks")]
    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {t} SET (fillfactor = {f})" for t, f in TABLES.items()],
            [f"ALTER TABLE {t} RESET (fillfactor)" for t in TABLES],
        ),
    ]
