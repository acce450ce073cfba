"""The audit trail of other apps' models (django-pghistory: database triggers, so raw SQL is
recorded too): each is tracked through a proxy here, so its triggers and event tables live in
this app's migrations. Each event row is the row after an insert or update, or before a delete;
the context says who (the request's user) and where (its URL).

Loaded with controls.models (controls.apps.ControlsConfig.import_models), apart from it:
lending's services import controls.limits and so controls.models, and must not reach the
settlement and reconciliation models tracked here (.importlinter). A model a role may change
that has no tracker fails tests/integration/controls/test_audit_coverage.py.
"""

from __future__ import annotations

import pghistory
from django.contrib.auth.models import Group, User

from controls.models import audit_trackers
from ledger.models import Account, Book, Period
from lending.intake.models import QuarantineCorrection
from lending.models import Agreement, AgreementFunder, AgreementVersion, Break, Program, Statement
from lending.reconciliation.models import ReconciliationTolerance
from lending.settlement.models import StatementPayment
from partners.models import CalendarDay, Partner, PartnerApiKey, PartnerUser, QuarantinedRow


def _tracked(model, name: str):
    proxy = type(name, (model,), {
        "__module__": __name__,
        "Meta": type("Meta", (), {"proxy": True, "app_label": "controls"}),
    })
    return pghistory.track(*audit_trackers(), model_name=f"{name}Event",
                           obj_field=pghistory.ObjForeignKey(db_constraint=False))(proxy)


AUDITED = {
    "User": User, "Group": Group, "Partner": Partner, "PartnerUser": PartnerUser,
    "PartnerApiKey": PartnerApiKey, "CalendarDay": CalendarDay, "Program": Program,
    "Agreement": Agreement, "AgreementVersion": AgreementVersion,
    "AgreementFunder": AgreementFunder, "Statement": Statement, "Break": Break,
    "QuarantinedRow": QuarantinedRow, "QuarantineCorrection": QuarantineCorrection,
    "StatementPayment": StatementPayment, "ReconciliationTolerance": ReconciliationTolerance,
    "Book": Book, "Account": Account, "Period": Period,
}
AuditUser = _tracked(User, "AuditUser")
AuditGroup = _tracked(Group, "AuditGroup")
AuditPartner = _tracked(Partner, "AuditPartner")
AuditPartnerUser = _tracked(PartnerUser, "AuditPartnerUser")
AuditPartnerApiKey = _tracked(PartnerApiKey, "AuditPartnerApiKey")
AuditCalendarDay = _tracked(CalendarDay, "AuditCalendarDay")
AuditProgram = _tracked(Program, "AuditProgram")
AuditAgreement = _tracked(Agreement, "AuditAgreement")
AuditAgreementVersion = _tracked(AgreementVersion, "AuditAgreementVersion")
AuditAgreementFunder = _tracked(AgreementFunder, "AuditAgreementFunder")
AuditStatement = _tracked(Statement, "AuditStatement")
AuditBreak = _tracked(Break, "AuditBreak")
AuditQuarantinedRow = _tracked(QuarantinedRow, "AuditQuarantinedRow")
# quarantine's corrections, settlement payments (cash posted), the breaks' rounding tolerance,
# and the ledger's books, accounts and periods (a period closed by staff)
AuditQuarantineCorrection = _tracked(QuarantineCorrection, "AuditQuarantineCorrection")
AuditStatementPayment = _tracked(StatementPayment, "AuditStatementPayment")
AuditReconciliationTolerance = _tracked(ReconciliationTolerance, "AuditReconciliationTolerance")
AuditBook = _tracked(Book, "AuditBook")
AuditAccount = _tracked(Account, "AuditAccount")
AuditPeriod = _tracked(Period, "AuditPeriod")
# who holds which role (a user's groups) and what a role may do (a group's permissions)
AuditUserGroup = _tracked(User.groups.through, "AuditUserGroup")
AuditGroupPermission = _tracked(Group.permissions.through, "AuditGroupPermission")
AuditUserPermission = _tracked(User.user_permissions.through, "AuditUserPermission")
