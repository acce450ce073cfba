"""A partner's status changes only through a four-eyes request.

The partners app imports no app above it, so its admin is registered again here with the
action that drafts the request (PARTNER_STATUS, controls.requests)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import render

from controls import requests as change_requests
from controls.models import RequestKind
from partners.admin import PartnerAdmin
from partners.models import Partner, PartnerStatus


class PartnerStatusRequestAdmin(PartnerAdmin):
    actions = ["request_status_change"]

    def has_status_request_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff
                    and user.has_perm("controls.request_change")
                    and user.has_perm("partners.change_partner"))

    @admin.action(description="Request a status change (suspend, terminate, reactivate; an "
                              "approver approves)", permissions=["status_request"])
    def request_status_change(self, request, queryset):
        status = request.POST.get("status", "")
        if "apply" not in request.POST or status not in PartnerStatus.values:
            return render(request, "admin/partners/partner/status_request.html", {
                **self.admin_site.each_context(request),
                "title": "Request a partner status change", "objects": queryset,
                "statuses": PartnerStatus.choices, "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            })
        note = request.POST.get("note", "").strip()
        if not note:
            self.message_user(request, "a status change request needs a reason",
                              messages.ERROR)
            return None
        for partner in queryset.order_by("code"):
            try:
                req = change_requests.request_create(
                    kind=RequestKind.PARTNER_STATUS, target_id=partner.pk,
                    payload={"status": status}, note=note, by=request.user)
            except change_requests.RequestError as exc:
                self.message_user(request, f"{partner.code}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{req} submitted: {partner.code} becomes {status} "
                                           "when an approver approves it.", messages.WARNING)
        return None


admin.site.unregister(Partner)
admin.site.register(Partner, PartnerStatusRequestAdmin)
