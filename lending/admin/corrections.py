"""Staff corrections of quarantined rows (issue 22; lending.intake.corrections).

The add page is the correction form of one quarantined row (`?quarantined=<id>`, linked from
the quarantine list): every column of the row's kind, filled from its raw text, and a note.
The checker approves here (or in Change requests): the approval is the four-eyes change
request's, so self-approval and a missing approver role are refused there."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html

from controls import requests as change_requests
from controls.admin import RefuseUnavailableActions
from controls.models import ChangeRequest
from controls.permissions import ControlPermissions
from lending.intake import corrections
from lending.intake.models import CorrectionStatus, QuarantineCorrection
from partners.files.contract import KINDS
from partners.models import QuarantinedRow


@admin.register(QuarantineCorrection)
class QuarantineCorrectionAdmin(RefuseUnavailableActions, ControlPermissions, admin.ModelAdmin):
    list_display = ("__str__", "original", "partner", "kind", "status", "outcome",
                    "business_date", "request_link", "created_by", "approved_by", "created_at")
    list_filter = ("status", "kind", "partner", "business_date")
    search_fields = ("line", "note", "quarantined__raw")
    list_select_related = ("partner", "quarantined__file", "created_by", "approved_by")
    actions = ["approve_corrections"]

    @admin.display(description="quarantined row")
    def original(self, obj):
        url = reverse("admin:partners_quarantinedrow_change", args=[obj.quarantined_id])
        return format_html('<a href="{}">{}</a>', url, obj.quarantined)

    @admin.display(description="replay")
    def outcome(self, obj):
        return corrections.correction_outcome(obj)

    @admin.display(description="change request")
    def request_link(self, obj):
        if obj.request_id is None:
            return "— (moves no money)"
        url = reverse("admin:controls_changerequest_change", args=[obj.request_id])
        return format_html('<a href="{}">#{}</a>', url, obj.request_id)

    @admin.action(description="Approve the selected corrections (a second person)",
                  permissions=["approve"])
    def approve_corrections(self, request: HttpRequest, queryset: QuerySet):
        for corr in queryset.filter(status=CorrectionStatus.PENDING_APPROVAL).order_by("pk"):
            req = ChangeRequest.objects.filter(pk=corr.request_id).first()
            try:
                if req is None:
                    raise change_requests.RequestError(f"{corr} has no change request")
                req = change_requests.request_approve(req=req, by=request.user)
            except change_requests.RequestError as exc:
                self.message_user(request, f"{corr}: {exc}", messages.ERROR)
            else:
                self.message_user(request, req.applied_result)

    def add_view(self, request, form_url="", extra_context=None):
        """The correction form of one quarantined row."""
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)  # Django's 403
        row_id = request.GET.get("quarantined") or request.POST.get("quarantined") or ""
        row = (QuarantinedRow.objects.select_related("file", "partner")
               .filter(pk=int(row_id)).first() if row_id.isdigit() else None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Correct a quarantined row", "row": row, "row_id": row_id}
        if row is None:
            if row_id:
                messages.error(request, f"quarantined row {row_id!r} does not exist")
            return render(request, "admin/lending/quarantinecorrection/correct.html", context)
        columns = KINDS[row.file.kind].columns
        values = corrections.correction_initial(row=row)
        note, error = "", ""
        if request.method == "POST":
            values = {c: request.POST.get(f"col_{c}", "") for c in columns}
            note = request.POST.get("note", "")
            try:
                corr = corrections.correction_request(row=row, values=values, note=note,
                                                      by=request.user)
            except (corrections.CorrectionError, change_requests.RequestError) as exc:
                error = str(exc)  # on the form, beside the fields
            else:
                messages.success(request, f"{corr} submitted: change request "
                                          f"#{corr.request_id}; a second person approves it, "
                                          "then it is staged for the next open run")
                return HttpResponseRedirect(
                    reverse("admin:lending_quarantinecorrection_changelist"))
        context.update(fields=[(c, values.get(c, ""), c == row.column) for c in columns],
                       note=note, error=error, money=row.file.kind in corrections.MONEY_KINDS)
        return render(request, "admin/lending/quarantinecorrection/correct.html", context)

    def has_add_permission(self, request) -> bool:
        return self.has_resolve_quarantine_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
