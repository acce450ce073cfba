# Reconciliation breaks (lending.reconciliation.models.Break).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lending', '0006_share_positions'),
        ('partners', '0004_quarantine_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Break',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('business_date', models.DateField(help_text='First seen on this business date.')),
                ('last_seen_on', models.DateField(help_text='Latest business date it still differed.')),
                ('loan_no', models.CharField(max_length=64)),
                ('kind', models.CharField(choices=[('AMOUNT_MISMATCH', 'Amount mismatch'), ('MISSING_AT_BANK', "In the partner's file, not booked at the bank"), ('MISSING_AT_PARTNER', "Open at the bank, absent from the partner's file"), ('STATUS_MISMATCH', 'Loan status differs'), ('DPD_MISMATCH', 'Days past due differ')], max_length=20)),
                ('field', models.CharField(blank=True, choices=[('', '—'), ('PRINCIPAL', 'Principal'), ('INTEREST', 'Interest'), ('PENALTY', 'Penalty + compound interest')], default='', max_length=12)),
                ('ours', models.CharField(blank=True, max_length=32)),
                ('theirs', models.CharField(blank=True, max_length=32)),
                ('difference', models.DecimalField(blank=True, decimal_places=2, help_text='Theirs − ours (amount or days); the absent side counts as 0.', max_digits=18, null=True)),
                ('status', models.CharField(choices=[('OPEN', 'Open'), ('AUTO_CLEARED', 'Auto-cleared'), ('RESOLVED', 'Resolved by staff'), ('WRITTEN_OFF', 'Written off')], default='OPEN', max_length=14)),
                ('resolution_note', models.TextField(blank=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('loan', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='breaks', to='lending.loan')),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('partner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='breaks', to='partners.partner')),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-business_date', 'partner_id', 'loan_no', 'kind', 'field'],
                'indexes': [models.Index(fields=['partner', 'status', 'business_date'], name='break_partner_status'), models.Index(fields=['business_date'], name='break_business_date')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'OPEN')), fields=('partner', 'loan_no', 'kind', 'field'), name='break_open_once'), models.UniqueConstraint(fields=('partner', 'loan_no', 'kind', 'field', 'business_date'), name='break_first_seen_once'), models.CheckConstraint(condition=models.Q(('last_seen_on__gte', models.F('business_date'))), name='break_seen_after_first'), models.CheckConstraint(condition=models.Q(('status', 'OPEN'), models.Q(models.Q(('resolution_note', ''), _negated=True), ('resolved_at__isnull', False)), _connector='OR'), name='break_closed_has_note')],
            },
        ),
    ]
