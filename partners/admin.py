import csv
import io

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from controls.permissions import ControlPermissions
from partners import services
from partners.models import (
    CalendarDay,
    InboundFile,
    Partner,
    PartnerApiKey,
    PartnerUser,
    QuarantinedRow,
)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    """A partner's status (ACTIVE / SUSPENDED / TERMINATED) is never edited on the form: the
    *Request a status change* action (added by controls.admin, which registers this admin again
    with it: partners imports no app above it) drafts a four-eyes request that takes effect
    when an approver approves it."""

    list_display = ("code", "legal_name", "kind", "status", "file_encoding", "related_party_group")
    list_filter = ("kind", "status", "file_encoding")
    search_fields = ("code", "legal_name", "related_party_group")
    ordering = ("code",)

    def get_readonly_fields(self, request, obj=None):
        return ("status",) if obj is not None else ()

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))  # a new partner starts ACTIVE
        return [f for f in fields if f != "status"] if obj is None else fields


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """The bank's business calendar: holidays on weekdays and make-up working days on weekends
    (Monday–Friday are business days otherwise). Staff enter each year's State Council notice."""

    list_display = ("day", "kind", "name")
    list_filter = ("kind",)
    search_fields = ("name",)
    date_hierarchy = "day"
    ordering = ("day",)


# --- Partner users and API keys --------------------------------------------------------------


@admin.register(PartnerUser)
class PartnerUserAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "active", "created_at")
    list_filter = ("active", "partner")
    search_fields = ("user__username", "partner__code")
    autocomplete_fields = ("user",)


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin):
    """Issue (add: the key is shown once) and revoke keys. Keys are never edited or deleted."""

    list_display = ("prefix", "partner_user", "label", "created_at", "created_by", "revoked_at",
                    "last_used_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "partner_user__partner")
    search_fields = ("prefix", "label", "partner_user__user__username")
    actions = ["revoke_keys"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("partner_user", "label")
        return ("partner_user", "label", "prefix", "created_at", "created_by", "revoked_at",
                "revoked_by", "last_used_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        _, raw = services.api_key_issue(partner_user=obj.partner_user, label=obj.label,
                                        by=request.user, key=obj)
        self.message_user(
            request, f"API key issued: {raw} — copy it now, it is not stored and will not be "
            "shown again.", messages.WARNING,
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = sum(services.api_key_revoke(key=k, by=request.user) for k in queryset)
        self.message_user(request, f"{revoked} key(s) revoked.")


# --- Inbound files and quarantine -------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InboundFile)
class InboundFileAdmin(ReadOnlyAdmin):
    list_display = ("name", "partner", "kind", "business_date", "status", "rows",
                    "staged_count", "quarantined_link", "amount_total", "channel",
                    "sent_by_label", "received_at")
    list_filter = ("status", "kind", "channel", "partner", "business_date")
    search_fields = ("name", "sha256", "partner_code")
    date_hierarchy = "received_at"
    list_select_related = ("partner",)

    @admin.display(description="quarantined", ordering="quarantined_count")
    def quarantined_link(self, obj):
        if not obj.quarantined_count:
            return 0
        url = reverse("admin:partners_quarantinedrow_changelist") + f"?file__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.quarantined_count)


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(ControlPermissions, ReadOnlyAdmin):
    """Quarantined rows are evidence: read-only; staff record a resolution with a note."""

    list_display = ("file", "row_no", "column", "reason", "stage", "short_message",
                    "business_date", "resolved", "resolved_by", "resolved_at", "correction")
    list_filter = ("reason", "stage", "resolved", "business_date", "created_at",
                   ("file", admin.RelatedOnlyFieldListFilter), "partner")
    search_fields = ("file__name", "message", "raw")
    list_select_related = ("file", "resolved_by")
    actions = ["mark_resolved", "download_csv", "download_xlsx"]

    # Downloads of the selected rows (select all: every row the filters keep), for whoever may
    # see the list. Written here, not by reports.exports: partners imports no app above it;
    # the same file shape (CSV with a BOM; XLSX money as numbers, the header frozen).
    EXPORT_HEADER = ["partner", "file", "business_date", "row_no", "stage", "column", "reason",
                     "message", "amount", "raw", "resolved", "resolution_note", "resolved_by",
                     "resolved_at"]

    def _export_rows(self, queryset):
        for q in queryset.select_related("partner", "file", "resolved_by").order_by(
                "file_id", "row_no", "stage").iterator(chunk_size=2000):
            yield [q.partner.code, q.file.name, q.business_date, q.row_no, q.stage, q.column,
                   q.reason, q.message, q.amount, q.raw, q.resolved, q.resolution_note,
                   q.resolved_by.get_username() if q.resolved_by else "",
                   q.resolved_at.replace(tzinfo=None) if q.resolved_at else None]

    @admin.action(description="Download selected as CSV", permissions=["view"])
    def download_csv(self, request, queryset):
        out = io.StringIO()
        out.write("\ufeff")  # the BOM: Excel reads Chinese messages
        writer = csv.writer(out)
        writer.writerow(self.EXPORT_HEADER)
        for row in self._export_rows(queryset):
            writer.writerow(["" if v is None else v for v in row])
        response = HttpResponse(out.getvalue().encode("utf-8"),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="quarantined-rows.csv"'
        return response

    @admin.action(description="Download selected as XLSX", permissions=["view"])
    def download_xlsx(self, request, queryset):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Quarantined rows")
        ws.freeze_panes = "A2"
        head = []
        for name in self.EXPORT_HEADER:
            head.append(WriteOnlyCell(ws, value=name))
            head[-1].font = Font(bold=True)
        ws.append(head)
        formats = {"business_date": "yyyy-mm-dd", "amount": "#,##0.00;-#,##0.00",
                   "resolved_at": "yyyy-mm-dd hh:mm:ss"}
        for row in self._export_rows(queryset):
            cells = []
            for name, value in zip(self.EXPORT_HEADER, row, strict=True):
                cell = WriteOnlyCell(ws, value=value)
                if name in formats and value is not None:
                    cell.number_format = formats[name]
                cells.append(cell)
            ws.append(cells)
        buffer = io.BytesIO()
        wb.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        response["Content-Disposition"] = 'attachment; filename="quarantined-rows.xlsx"'
        return response

    @admin.display(description="message")
    def short_message(self, obj):
        return obj.message[:80]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("corrections")

    # Corrections are lending's (lending.intake.corrections): linked by URL name only, as
    # partners imports no lending code.
    @admin.display(description="correction")
    def correction(self, obj):
        done = [c for c in obj.corrections.all() if c.status != "REJECTED"]
        if done:
            url = reverse("admin:lending_quarantinecorrection_change", args=[done[0].pk])
            return format_html('<a href="{}">#{} {}</a>', url, done[0].pk, done[0].status)
        if obj.resolved or obj.file.kind == "balances":  # balances rows are not replayed
            return "—"
        url = reverse("admin:lending_quarantinecorrection_add") + f"?quarantined={obj.pk}"
        return format_html('<a href="{}">correct</a>', url)

    # A resolution records a note and changes no money (nothing is booked or reversed), so
    # it needs the operator's permission, not a second person.
    @admin.action(description="Mark resolved with a note", permissions=["resolve_quarantine"])
    def mark_resolved(self, request, queryset):
        if "apply" in request.POST:
            try:
                done = services.quarantined_rows_resolve(
                    rows=queryset, note=request.POST.get("note", ""), by=request.user
                )
            except services.ResolutionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{done} row(s) marked resolved.")
                return None
        return render(request, "admin/partners/quarantinedrow/resolve.html", {
            **self.admin_site.each_context(request),
            "title": "Resolve quarantined rows",
            "rows": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        })
