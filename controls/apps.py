from importlib import import_module

from django.apps import AppConfig


class ControlsConfig(AppConfig):
    """Roles, four eyes (maker-checker) and the audit trail (issue 21)."""

    name = "controls"
    verbose_name = "Controls: roles, four eyes, audit trail"

    def import_models(self) -> None:
        super().import_models()
        # the audit trail's proxies of other apps' models: models too, loaded with these but
        # kept apart from controls.models (controls.audit_trail says why)
        import_module(f"{self.name}.audit_trail")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from controls.roles import roles_sync_on_migrate

        # every migrate brings the roles' permissions up to date (a new model's view
        # permission reaches the auditor without a hand-written migration)
        post_migrate.connect(roles_sync_on_migrate, sender=self)

        from controls.admin import program_admin_with_cost_cap

        # R5 on the program form (the admin modules are loaded: the admin app comes first)
        program_admin_with_cost_cap()
