from django.db import migrations

from ledger.domain import chart


def load_chart(apps, schema_editor):
    """Create BANK_GL and its accounts (insert-missing only, like services.chart_of_accounts_load)."""
    Book = apps.get_model("ledger", "Book")
    Account = apps.get_model("ledger", "Account")
    book, _ = Book.objects.get_or_create(
        code=chart.BANK_GL, defaults={"name": "Bank general ledger", "kind": "GENERAL"}
    )
    for spec in chart.BANK_GL_ACCOUNTS:
        Account.objects.get_or_create(
            book=book,
            code=spec.code,
            defaults={
                "key": spec.key,
                "name": spec.name,
                "type": spec.type,
                "normal_balance": spec.normal_balance,
                "currency": chart.DEFAULT_CURRENCY,
                "off_balance": spec.off_balance,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_integrity_triggers")]

    operations = [migrations.RunPython(load_chart, migrations.RunPython.noop)]
