"""The SCRATCH book kind leaves the product (issue 23): the posting benchmark's book is a
GENERAL book of the benchmarks' own code, and the database now refuses any kind but GENERAL
and MEMO. A SCRATCH book left by an earlier benchmark becomes GENERAL (its entries stay: the
ledger is append-only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_period_close_lock")]

    operations = [
        migrations.RunSQL("UPDATE ledger_book SET kind = 'GENERAL' WHERE kind = 'SCRATCH'",
                          migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="book",
            name="kind",
            field=models.CharField(choices=[("GENERAL", "General ledger"),
                                            ("MEMO", "Memo book (a partner's position)")],
                                   max_length=10),
        ),
        migrations.AddConstraint(
            model_name="book",
            constraint=models.CheckConstraint(condition=models.Q(kind__in=["GENERAL", "MEMO"]),
                                              name="ledger_book_kind_valid"),
        ),
    ]
