# A staff correction of a quarantined row (lending.intake.corrections) is a change request.

from django.db import migrations, models

KINDS = [('PROGRAM_CHANGE', 'Program change'), ('BREAK_WRITE_OFF', 'Break write-off'),
         ('PARTNER_STATUS', 'Partner status change'), ('MANUAL_JOURNAL', 'Manual journal entry'),
         ('PAYMENT_RELEASE', 'Settlement payment release'),
         ('LOAN_WRITE_OFF', 'Loan write-off (核销)'),
         ('ROW_CORRECTION', 'Quarantined row correction (replayed)'),
         ('LIMIT_THRESHOLD', 'Limit threshold (from a date)'),
         ('LIMIT_BANK_FIGURE', 'Bank figure for the limits (from a date)')]


class Migration(migrations.Migration):

    dependencies = [
        ('controls', '0010_limit_change_requests'),
    ]

    operations = [
        migrations.AlterField(
            model_name='changerequest',
            name='kind',
            field=models.CharField(choices=KINDS, max_length=20),
        ),
        migrations.AlterField(
            model_name='changerequestevent',
            name='kind',
            field=models.CharField(choices=KINDS, max_length=20),
        ),
    ]
