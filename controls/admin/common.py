"""What the controls' admin pages share: the reason page of a rejection, refusing an action
the user's roles do not give, and who counts as finance or an auditor."""

from __future__ import annotations

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import render


def reason_page(model_admin, request, queryset, *, action: str, question: str):
    """The intermediate page of an action that needs a reason (a rejection)."""
    return render(request, "admin/controls/action_reason.html", {
        **model_admin.admin_site.each_context(request),
        "title": question, "question": question, "objects": queryset.order_by("pk"),
        "action": action, "reason_label": "Reason (required)", "button": "Reject",
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": model_admin.model._meta,
    })


class RefuseUnavailableActions:
    """An action the user's roles do not give (approve, reject, submit, request a release) is
    refused with 403, not ignored as Django's "no action selected"."""

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)


def finance_request(request) -> bool:
    """Finance's requests (manual journals, payment releases): who may request changes and
    reads the ledger."""
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("controls.request_change")
                and user.has_perm("ledger.view_journalentry"))


def audit_viewer(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("controls.view_audit"))
