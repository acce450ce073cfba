from django.apps import AppConfig


class LendingConfig(AppConfig):
    name = "lending"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger import checks
        from lending.settlement import checks as settlement_checks

        checks.register(settlement_checks.subledger_equals_gl, name="subledger_equals_gl")
        checks.register(settlement_checks.statements_tie, name="statements_tie")
