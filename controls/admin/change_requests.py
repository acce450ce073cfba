"""The change requests' admin: submit, approve, reject (four eyes), and the manual journal
page that drafts a MANUAL_JOURNAL request."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from controls import requests as change_requests
from controls.admin.common import RefuseUnavailableActions, finance_request, reason_page
from controls.models import ChangeRequest, RequestKind, RequestStatus
from controls.permissions import ControlPermissions


class ManualJournalForm(forms.Form):
    """A manual journal entry, drafted as a four-eyes request: posted only on approval."""

    book = forms.CharField(initial="BANK_GL", max_length=40)
    business_date = forms.DateField(help_text="YYYY-MM-DD, in an open period of the book")
    memo = forms.CharField(max_length=500, help_text="Why: shown to the approver and kept on "
                                                     "the entry.")
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="One line per row: account, debit, credit[, program[, counterparty]] — "
                  "e.g. <code>1132, 100.00, 0</code> then <code>2201, 0, 100.00</code>. "
                  "Debits must equal credits.")

    def clean_lines(self) -> list[dict]:
        out = []
        for n, row in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not row.strip():
                continue
            cells = [c.strip() for c in row.split(",")]
            if len(cells) < 3 or len(cells) > 5:
                raise forms.ValidationError(
                    f"row {n}: account, debit, credit[, program[, counterparty]] "
                    f"({len(cells)} values given)")
            line = dict(zip(("account", "debit", "credit", "program", "counterparty"), cells,
                            strict=False))
            out.append({k: v for k, v in line.items() if v != "" or k in ("debit", "credit")})
        return out

    def payload(self) -> dict:
        data = self.cleaned_data
        return {"book": data["book"].strip(), "business_date": data["business_date"].isoformat(),
                "memo": data["memo"].strip(), "lines": data["lines"]}


@admin.register(ChangeRequest)
class ChangeRequestAdmin(RefuseUnavailableActions, ControlPermissions, admin.ModelAdmin):
    """Program changes, break write-offs, partner status changes and manual journal entries
    waiting for (or decided by) a second person."""

    list_display = ("id", "kind", "target_id", "status", "created_by", "created_at",
                    "submitted_at", "decided_by", "decided_at", "rejection_reason")
    list_filter = ("kind", "status")
    actions = ["approve_requests", "reject_requests", "submit_requests"]
    readonly_fields = ("kind", "target_id", "status", "created_by", "created_at", "editor_ids",
                       "submitted_at", "decided_by", "decided_at", "rejection_reason",
                       "applied_result")
    fields = ("kind", "target_id", "payload", "note") + readonly_fields[2:]

    def has_add_permission(self, request):
        return False  # requests come from the program, break and partner pages, and the
        # manual journal page below

    def has_manual_journal_permission(self, request) -> bool:
        return finance_request(request)

    def get_urls(self):
        return [path("manual-journal/", self.admin_site.admin_view(self.manual_journal_view),
                     name="controls_changerequest_manual_journal")] + super().get_urls()

    def manual_journal_view(self, request):
        """Draft and submit a manual journal entry; the ledger is untouched until a second
        person with the approver role approves it. Every refusal is shown on the form."""
        if not self.has_manual_journal_permission(request):
            raise PermissionDenied
        form = ManualJournalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                req = change_requests.request_create(
                    kind=RequestKind.MANUAL_JOURNAL, target_id=0, payload=form.payload(),
                    note=form.cleaned_data["memo"], by=request.user)
            except change_requests.RequestError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"{req} submitted: it is posted when a second "
                                           "person with the approver role approves it.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:controls_changerequest_change", args=[req.pk]))
        return render(request, "admin/controls/manual_journal.html", {
            **self.admin_site.each_context(request), "title": "New manual journal entry",
            "form": form, "opts": self.model._meta,
        })

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == RequestStatus.APPROVED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            change_requests.request_edit(req=obj, by=request.user,
                                         payload=form.cleaned_data.get("payload"),
                                         note=form.cleaned_data.get("note"))
        except change_requests.RequestError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"{obj} is a draft again: submit it for approval.",
                              messages.WARNING)

    def _each(self, request, queryset, fn, done: str):
        for req in queryset.order_by("pk"):
            try:
                fn(req)
            except change_requests.RequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{req} {done}.", messages.SUCCESS)

    @admin.action(description="Approve selected requests (second person, four eyes)",
                  permissions=["approve"])
    def approve_requests(self, request: HttpRequest, queryset):
        self._each(request, queryset, lambda r: change_requests.request_approve(
            req=r, by=request.user), "approved and applied")

    @admin.action(description="Reject selected requests (with a reason)",
                  permissions=["approve"])
    def reject_requests(self, request: HttpRequest, queryset):
        if "apply" not in request.POST:
            return reason_page(self, request, queryset, action="reject_requests",
                               question="Reject these requests?")
        reason = request.POST.get("reason", "")
        self._each(request, queryset, lambda r: change_requests.request_reject(
            req=r, by=request.user, reason=reason), "rejected")
        return None

    @admin.action(description="Submit selected drafts for approval", permissions=["request"])
    def submit_requests(self, request: HttpRequest, queryset):
        self._each(request, queryset, lambda r: change_requests.request_submit(
            req=r, by=request.user), "submitted")
