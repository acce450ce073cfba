"""Lending's admin pages with the controls added: the release of a statement's payment
through a four-eyes request, R5 on the program form, the alerts on a run's page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join

from controls import requests as change_requests
from controls.admin.common import RefuseUnavailableActions, finance_request
from controls.models import RequestKind
from lending.admin.settlement import SettlementRunAdmin, StatementAdmin
from lending.models import SettlementRun, Statement

# --- A day's settlement payment is released only through a four-eyes request -----------------
# The statements' admin (lending) is registered again here with the action that drafts the
# request (PAYMENT_RELEASE, controls.requests) and a column saying whether it is released.


class StatementReleaseAdmin(RefuseUnavailableActions, StatementAdmin):
    actions = ["request_payment_release"]

    # added through the getters: the base's tuples keep their own type (mypy)
    def get_list_display(self, request):
        return (*super().get_list_display(request), "payment")

    def get_list_select_related(self, request):
        return (*super().get_list_select_related(request), "payment_release")

    def has_payment_release_permission(self, request) -> bool:
        return finance_request(request)

    @admin.display(description="payment")
    def payment(self, obj):
        release = getattr(obj, "payment_release", None)
        if release is not None:
            return f"released {release.released_at:%Y-%m-%d %H:%M} by {release.released_by}"
        return "not released"

    @admin.action(description="Request the release of the payment (an approver approves)",
                  permissions=["payment_release"])
    def request_payment_release(self, request, queryset):
        for statement in queryset.select_related("run", "counterparty").order_by("pk"):
            try:
                req = change_requests.request_create(
                    kind=RequestKind.PAYMENT_RELEASE, target_id=statement.pk,
                    payload={"amount": str(statement.net_amount)},
                    note=f"release of {statement}", by=request.user)
            except change_requests.RequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{req}: the payment of {statement} is released "
                                           "when an approver approves it.", messages.SUCCESS)


admin.site.unregister(Statement)
admin.site.register(Statement, StatementReleaseAdmin)


# --- R5 on the program form: a maximum annual rate above the all-in cost cap is a form error --
# lending.admin imports this module, so the program's admin is re-registered from
# ControlsConfig.ready(), once every admin module is loaded (controls.apps).

class ProgramCostCapForm(forms.ModelForm):  # the admin's modelform_factory gives its Meta
    def clean_max_annual_rate(self):
        from django.utils import timezone

        from controls.limits import all_in_cost_error

        rate = self.cleaned_data.get("max_annual_rate")
        error = all_in_cost_error(rate, timezone.localdate())
        if error:
            raise forms.ValidationError(error)
        return rate


def program_admin_with_cost_cap() -> None:
    """The program's registered admin, its form checking R5 (once; idempotent)."""
    from lending.models import Program

    if not admin.site.is_registered(Program):
        return
    current = type(admin.site.get_model_admin(Program))
    if issubclass(current.form, ProgramCostCapForm):
        return
    form = type("CostCappedProgramForm", (ProgramCostCapForm, current.form),
                {"__module__": __name__})
    cost_capped = type(f"CostCapped{current.__name__}", (current,),
                       {"form": form, "__module__": __name__})
    admin.site.unregister(Program)
    admin.site.register(Program, cost_capped)


# --- The run's own page lists the alerts it raised (regulatory limits among them) -------------


class SettlementRunAlertsAdmin(SettlementRunAdmin):
    def get_fields(self, request, obj=None):
        return (*super().get_fields(request, obj), "run_alerts")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "run_alerts")

    @admin.display(description="alerts")
    def run_alerts(self, obj):
        alerts = obj.alerts.order_by("raised_at").values_list("key", "message",
                                                               "acknowledged_at")
        if not alerts:
            return "—"
        return format_html_join(
            "", "<p><b>{}</b>{}: {}</p>",
            ((key, " (acknowledged)" if at else "", message) for key, message, at in alerts))


admin.site.unregister(SettlementRun)
admin.site.register(SettlementRun, SettlementRunAlertsAdmin)
