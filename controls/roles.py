"""The staff roles (Django groups) and the permissions each holds: defined once, here.

docs/permissions.md renders this table; a migration creates the groups and every `migrate`
re-syncs their permissions (`roles_sync`), so a new model's view permission reaches the auditor
and a new limit model reaches risk without a hand-written list.

Partner users are not staff: they hold no role and reach only the partner API, which shows
their own partner's data (partners.apis).
"""

from __future__ import annotations

OPERATOR, APPROVER, FINANCE, RISK, AUDITOR, ADMINISTRATOR = (
    "operator", "approver", "finance", "risk", "auditor", "administrator",
)
ROLES = (OPERATOR, APPROVER, FINANCE, RISK, AUDITOR, ADMINISTRATOR)

# Custom permissions (held by controls.Control, a model with no table).
CONTROL_PERMISSIONS = (
    ("request_change", "Draft and submit a change that needs four eyes"),
    ("approve_request", "Approve or reject what another person submitted (four eyes)"),
    ("operate_runs", "Rerun settlement runs and acknowledge alerts"),
    ("resolve_quarantine", "Resolve quarantined rows"),
    ("work_breaks", "Assign and resolve reconciliation breaks, request write-offs"),
    ("view_audit", "Browse the audit trail"),
    ("export_audit", "Export the audit trail (CSV)"),
)

# What the daily operation reads (runs, files, quarantine, breaks, loans, terms).
_OPERATIONS = {
    "lending": {"settlementrun", "runchunk", "runevent", "alert", "loan", "loanshare",
                "installment", "movement", "claim", "reconciliation", "break", "program",
                "agreement", "agreementversion", "agreementfunder", "statement",
                "statementline", "quarantinecorrection"},
    "partners": {"partner", "calendarday", "inboundfile", "quarantinedrow"},
    "controls": {"changerequest"},
}
_MONEY = {
    "lending": {"statement", "statementline", "movement", "claim", "settlementrun", "loan",
                "loanshare", "reconciliation", "break"},
    "ledger": "*",
    "partners": {"partner"},
    "controls": {"changerequest"},
}
_TERMS = {"program", "agreement", "agreementversion", "agreementfunder"}


def _views(spec: dict) -> set[tuple[str, str]]:
    return {(app, f"view_{model}") for app, models in spec.items() if models != "*"
            for model in models} | {(app, "view_*") for app, m in spec.items() if m == "*"}


def role_spec() -> dict[str, set[tuple[str, str]]]:
    """Each role's permissions as (app_label, codename); "view_*" is every view of the app
    (likewise "add_*", "change_*"),
    ("*", "view_*") every view permission there is, ("lending", "*limit*") every permission
    of a lending model named like a limit (likewise ("controls", "*limit*"))."""
    ctl = "controls"
    return {
        OPERATOR: _views(_OPERATIONS) | {
            ("partners", "add_calendarday"), ("partners", "change_calendarday"),
            (ctl, "operate_runs"), (ctl, "resolve_quarantine"), (ctl, "work_breaks"),
            (ctl, "request_change"), (ctl, "add_changerequest"), (ctl, "change_changerequest"),
            ("django_celery_beat", "view_*"), ("django_celery_beat", "add_*"),
            ("django_celery_beat", "change_*"),  # the nightly schedule (runs)
        },
        APPROVER: _views(_OPERATIONS) | _views(_MONEY) | {(ctl, "approve_request")},
        FINANCE: _views(_MONEY) | {
            ("ledger", "change_period"),  # the month-end close
            (ctl, "request_change"), (ctl, "add_changerequest"), (ctl, "change_changerequest"),
        },
        RISK: _views(_OPERATIONS) | {
            ("lending", f"{verb}_{model}") for verb in ("add", "change") for model in _TERMS
        } | {("partners", "add_partner"), ("partners", "change_partner")} | {
            ("lending", "*limit*"), (ctl, "*limit*"),  # controls.Limit*: thresholds, figures
            (ctl, "request_change"), (ctl, "add_changerequest"), (ctl, "change_changerequest")},
        AUDITOR: {("*", "view_*"), (ctl, "view_audit"), (ctl, "export_audit")},
        ADMINISTRATOR: {
            ("auth", f"{verb}_{model}") for verb in ("add", "change", "view")
            for model in ("user", "group")
        } | {("auth", "view_permission")} | {
            ("partners", f"{verb}_{model}") for verb in ("add", "change", "view")
            for model in ("partneruser", "partnerapikey")
        } | {("partners", "view_partner")},
    }


def _matches(perm_app: str, perm_code: str, model: str, rule: tuple[str, str]) -> bool:
    app, code = rule
    if app not in ("*", perm_app):
        return False
    if code.endswith("_*"):
        return perm_code.startswith(code[:-1])
    if code == "*limit*":  # the limit models, not their audit-trail event models
        return "limit" in model and not model.endswith("event")
    return code == perm_code


def roles_sync(apps=None) -> None:
    """Create the groups if missing and set each one's permissions to its spec exactly."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = list(Permission.objects.select_related("content_type").values_list(
        "pk", "content_type__app_label", "codename", "content_type__model"))
    for role, rules in role_spec().items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [pk for pk, app, code, model in perms
                  if any(_matches(app, code, model, r) for r in rules)]
        group.permissions.set(wanted)


def roles_sync_on_migrate(sender=None, apps=None, using="default", **kwargs) -> None:
    from django.db import DEFAULT_DB_ALIAS

    if using != DEFAULT_DB_ALIAS:
        return
    from django.apps import apps as global_apps

    roles_sync(global_apps)


def permissions_create(apps) -> None:
    """In a migration: make sure every app's permissions exist before the groups use them."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
