"""The audit trail records the statement's lifecycle columns (status, due date, payment
reference, confirmation, dispute, paid on: lending 0028)."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('controls', '0008_analyze_function'),
        ('lending', '0028_statement_lifecycle'),  # the audited columns of lending_statement
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='auditstatement',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='auditstatement',
            name='update_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='auditstatement',
            name='delete_delete',
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='confirmed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='confirmed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='dispute_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='disputed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='disputed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='due_date',
            field=models.DateField(blank=True, help_text='business_date + SETTLEMENT_PAYMENT_DAYS business days', null=True),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='issued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='paid_on',
            field=models.DateField(blank=True, help_text='Value date of the payment that completed it.', null=True),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='payment_reference',
            field=models.CharField(blank=True, help_text='ST-<counterparty>-<yyyymmdd>-<id>: quoted on the payment (set at issue).', max_length=64),
        ),
        migrations.AddField(
            model_name='auditstatementevent',
            name='status',
            field=models.CharField(choices=[('PROVISIONAL', 'Provisional (its run is not DONE)'), ('ISSUED', 'Issued to the counterparty'), ('CONFIRMED', 'Confirmed by the counterparty'), ('DISPUTED', 'Disputed by the counterparty'), ('PAID', 'Paid')], default='PROVISIONAL', max_length=12),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditstatement',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "controls_auditstatementevent" ("business_date", "confirmed_at", "confirmed_by_id", "counterparty_id", "currency", "dispute_reason", "disputed_at", "disputed_by_id", "due_date", "id", "issued_at", "net_amount", "paid_on", "payment_reference", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "run_id", "status") VALUES (NEW."business_date", NEW."confirmed_at", NEW."confirmed_by_id", NEW."counterparty_id", NEW."currency", NEW."dispute_reason", NEW."disputed_at", NEW."disputed_by_id", NEW."due_date", NEW."id", NEW."issued_at", NEW."net_amount", NEW."paid_on", NEW."payment_reference", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."run_id", NEW."status"); RETURN NULL;', hash='402e910c7c78c7181f2ffb223560545126d69592', operation='INSERT', pgid='pgtrigger_insert_insert_79b42', table='lending_statement', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditstatement',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "controls_auditstatementevent" ("business_date", "confirmed_at", "confirmed_by_id", "counterparty_id", "currency", "dispute_reason", "disputed_at", "disputed_by_id", "due_date", "id", "issued_at", "net_amount", "paid_on", "payment_reference", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "run_id", "status") VALUES (NEW."business_date", NEW."confirmed_at", NEW."confirmed_by_id", NEW."counterparty_id", NEW."currency", NEW."dispute_reason", NEW."disputed_at", NEW."disputed_by_id", NEW."due_date", NEW."id", NEW."issued_at", NEW."net_amount", NEW."paid_on", NEW."payment_reference", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."run_id", NEW."status"); RETURN NULL;', hash='ba59789b60d2c05de586870613e24d776cf85d57', operation='UPDATE', pgid='pgtrigger_update_update_698ed', table='lending_statement', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditstatement',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "controls_auditstatementevent" ("business_date", "confirmed_at", "confirmed_by_id", "counterparty_id", "currency", "dispute_reason", "disputed_at", "disputed_by_id", "due_date", "id", "issued_at", "net_amount", "paid_on", "payment_reference", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "run_id", "status") VALUES (OLD."business_date", OLD."confirmed_at", OLD."confirmed_by_id", OLD."counterparty_id", OLD."currency", OLD."dispute_reason", OLD."disputed_at", OLD."disputed_by_id", OLD."due_date", OLD."id", OLD."issued_at", OLD."net_amount", OLD."paid_on", OLD."payment_reference", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."run_id", OLD."status"); RETURN NULL;', hash='5a8f6939638750a565fc3d6bb97a4c82b56dd813', operation='DELETE', pgid='pgtrigger_delete_delete_29b74', table='lending_statement', when='AFTER')),
        ),
    ]
