"""Issue 22: the statement's lifecycle (status, due date, payment reference, confirmation,
dispute, paid on), its payments, and the PAYMENT_OVERDUE alert. Existing statements start
PROVISIONAL; those of DONE runs are issued by the next run or the daily statements pass
(lending.settlement.statements.statements_daily), whose periodic task is installed here."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _schedule_install(apps, schema_editor):
    """The daily overdue pass joins the default periodic tasks (those present are kept)."""
    from lending.settlement.scheduler import schedule_install

    schedule_install(PeriodicTask=apps.get_model("django_celery_beat", "PeriodicTask"),
                     CrontabSchedule=apps.get_model("django_celery_beat", "CrontabSchedule"),
                     IntervalSchedule=apps.get_model("django_celery_beat", "IntervalSchedule"))


class Migration(migrations.Migration):

    dependencies = [
        ('lending', '0027_accrual_ties'),
        ('partners', '0006_china_2026_holidays'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StatementPayment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(help_text='As quoted on the bank transfer.', max_length=64)),
                ('value_date', models.DateField()),
                ('amount', models.DecimalField(decimal_places=2, max_digits=18)),
                ('currency', models.CharField(default='CNY', max_length=3)),
                ('source', models.CharField(choices=[('STAFF', 'Recorded by finance staff'), ('BANK_STATEMENT', 'Imported from the bank statement')], max_length=16)),
                ('bank_line_id', models.CharField(blank=True, help_text="The bank statement line's id: a line is imported once.", max_length=64)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('journal_entry_key', models.CharField(blank=True, help_text='Idempotency key of the cash entry.', max_length=200)),
            ],
            options={
                'ordering': ['statement_id', 'value_date', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='statement',
            name='confirmed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='confirmed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='statement',
            name='dispute_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='disputed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='disputed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='statement',
            name='due_date',
            field=models.DateField(blank=True, help_text='business_date + SETTLEMENT_PAYMENT_DAYS business days', null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='issued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='paid_on',
            field=models.DateField(blank=True, help_text='Value date of the payment that completed it.', null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='payment_reference',
            field=models.CharField(blank=True, help_text='ST-<counterparty>-<yyyymmdd>-<id>: quoted on the payment (set at issue).', max_length=64),
        ),
        migrations.AddField(
            model_name='statement',
            name='status',
            field=models.CharField(choices=[('PROVISIONAL', 'Provisional (its run is not DONE)'), ('ISSUED', 'Issued to the counterparty'), ('CONFIRMED', 'Confirmed by the counterparty'), ('DISPUTED', 'Disputed by the counterparty'), ('PAID', 'Paid')], default='PROVISIONAL', max_length=12),
        ),
        migrations.AlterField(
            model_name='alert',
            name='reason',
            field=models.CharField(choices=[('FILES_MISSING', 'Files still missing after the cut-off'), ('RUN_FAILED', 'Settlement run failed'), ('LIMIT_BREACH', 'Regulatory limit breached'), ('PAYMENT_OVERDUE', 'Statement unpaid after its due date')], max_length=16),
        ),
        migrations.AddIndex(
            model_name='statement',
            index=models.Index(fields=['status', 'due_date'], name='statement_status_due'),
        ),
        migrations.AddConstraint(
            model_name='statement',
            constraint=models.UniqueConstraint(condition=models.Q(('payment_reference', ''), _negated=True), fields=('payment_reference',), name='statement_payment_reference_unique'),
        ),
        migrations.AddConstraint(
            model_name='statement',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'PROVISIONAL'), models.Q(models.Q(('payment_reference', ''), _negated=True), ('due_date__isnull', False)), _connector='OR'), name='statement_issued_has_reference_and_due_date'),
        ),
        migrations.AddConstraint(
            model_name='statement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'DISPUTED'), _negated=True), models.Q(('dispute_reason', ''), _negated=True), _connector='OR'), name='statement_dispute_has_reason'),
        ),
        migrations.AddField(
            model_name='statementpayment',
            name='recorded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='statementpayment',
            name='statement',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='lending.statement'),
        ),
        migrations.AddConstraint(
            model_name='statementpayment',
            constraint=models.UniqueConstraint(condition=models.Q(('bank_line_id', ''), _negated=True), fields=('bank_line_id',), name='statement_payment_bank_line'),
        ),
        migrations.AddConstraint(
            model_name='statementpayment',
            constraint=models.CheckConstraint(condition=models.Q(('amount', 0), _negated=True), name='statement_payment_not_zero'),
        ),
        migrations.AddConstraint(
            model_name='statementpayment',
            constraint=models.CheckConstraint(condition=models.Q(('source', 'STAFF'), models.Q(('bank_line_id', ''), _negated=True), _connector='OR'), name='statement_payment_bank_line_id'),
        ),
        migrations.RunPython(_schedule_install, migrations.RunPython.noop),
    ]
