"""Ledger admin: books, accounts, periods (close with confirmation), read-only journal entries
with their lines, and a trial balance page (Books → "Trial balance")."""

from __future__ import annotations

from datetime import date

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ledger.domain.errors import LedgerError
from ledger.models import Account, Book, JournalEntry, JournalLine, Period, PeriodStatus
from ledger.selectors import trial_balance_list
from ledger.services import period_close


class AccountInline(admin.TabularInline):
    model = Account
    extra = 0
    fields = ["code", "key", "name", "type", "normal_balance", "currency", "off_balance",
              "is_active"]
    show_change_link = True


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "trial_balance_link"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    inlines = [AccountInline]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Trial balance")
    def trial_balance_link(self, obj):
        url = reverse("admin:ledger_trial_balance") + f"?book={obj.code}"
        return format_html('<a href="{}">trial balance</a>', url)

    def get_urls(self):
        custom = [
            path("trial-balance/", self.admin_site.admin_view(self.trial_balance_view),
                 name="ledger_trial_balance"),
        ]
        return custom + super().get_urls()

    def trial_balance_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        books = list(Book.objects.order_by("code").values_list("code", flat=True))
        book = request.GET.get("book") or (books[0] if books else "")
        error, tb = "", None
        try:
            as_of = date.fromisoformat(request.GET["date"]) if request.GET.get("date") else (
                date.today()  # noqa: DTZ011 - the page's default as-of date
            )
        except ValueError:
            as_of, error = date.today(), "Date must be YYYY-MM-DD."  # noqa: DTZ011
        if book and not error:
            try:
                tb = trial_balance_list(book=book, as_of=as_of,
                                        include_zero=request.GET.get("zero") == "1")
            except LedgerError as exc:
                error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Trial balance {book} as of {as_of}",
            "books": books,
            "book": book,
            "as_of": as_of,
            "tb": tb,
            "totals": sorted(tb.totals().items()) if tb else [],
            "error": error,
        }
        return TemplateResponse(request, "admin/ledger/trial_balance.html", context)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["code", "key", "name", "book", "type", "normal_balance", "currency",
                    "off_balance", "is_active"]
    list_filter = ["book", "type", "off_balance", "is_active"]
    search_fields = ["code", "key", "name"]
    ordering = ["book__code", "code"]

    def get_readonly_fields(self, request, obj=None):
        # The identity and nature of an account with postings must not change under them.
        if obj is not None:
            return ["book", "code", "key", "type", "normal_balance", "currency", "off_balance"]
        return []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ["book", "start_date", "status", "closed_at", "closed_by", "close_link"]
    list_filter = ["book", "status"]
    ordering = ["book__code", "-start_date"]
    readonly_fields = ["book", "start_date", "status", "closed_at", "closed_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def close_link(self, obj):
        if obj.status != PeriodStatus.OPEN:
            return ""
        url = reverse("admin:ledger_period_close", args=[obj.pk])
        return format_html('<a href="{}">close…</a>', url)

    def get_urls(self):
        custom = [
            path("<int:pk>/close/", self.admin_site.admin_view(self.close_view),
                 name="ledger_period_close"),
        ]
        return custom + super().get_urls()

    def close_view(self, request, pk: int):
        """GET: a confirmation page. POST: close the period (the service checks the rules)."""
        if not request.user.has_perm("ledger.change_period"):
            raise PermissionDenied
        period = get_object_or_404(Period.objects.select_related("book"), pk=pk)
        changelist = reverse("admin:ledger_period_changelist")
        if request.method == "POST":
            try:
                period_close(book=period.book.code, period=period.start_date,
                             closed_by=request.user.get_username())
            except LedgerError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, f"Closed {period.book.code} {period.start_date:%Y-%m}.",
                    messages.SUCCESS,
                )
            return redirect(changelist)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Close period {period.book.code} {period.start_date:%Y-%m}?",
            "period": period,
            "changelist": changelist,
        }
        return TemplateResponse(request, "admin/ledger/period_close_confirm.html", context)


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    can_delete = False
    fields = ("account", "debit", "credit", "currency", "program", "counterparty", "source")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "book", "business_date", "purpose", "idempotency_key", "source_run",
                    "reverses", "posted_at"]
    list_filter = ["book", "purpose", "business_date"]
    search_fields = ["idempotency_key", "source_run", "purpose"]
    date_hierarchy = "business_date"
    list_select_related = ["book"]
    inlines = [JournalLineInline]
    readonly_fields = ("book", "business_date", "idempotency_key", "purpose", "source_run",
                       "memo", "reverses", "posted_at")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
