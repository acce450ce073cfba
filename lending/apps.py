from django.apps import AppConfig


class LendingConfig(AppConfig):
    name = "lending"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger import checks
        from lending.intake.corrections import corrections_accounted
        from lending.reconciliation.checks import file_rows_accounted
        from lending.settlement import checks as settlement_checks

        checks.register(file_rows_accounted, name="lending.file_rows_accounted")
        checks.register(corrections_accounted, name="lending.corrections_accounted")
        checks.register(settlement_checks.subledger_equals_gl, name="subledger_equals_gl")
        checks.register(settlement_checks.statements_tie, name="statements_tie")
        checks.register(settlement_checks.loans_equal_shares, name="loans_equal_shares")
