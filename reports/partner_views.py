"""Partner reconciliation pages: a partner user sees its own statements (of DONE runs, with
loan-level detail), breaks, files with their quarantined rows and the bank's loan snapshot for a
date, each with from/to date filters and CSV/XLSX downloads.

Who: a user linked to a partner (`partners.PartnerUser`), logged in through the partner login
page, or a script with the partner's API key (`Authorization: Api-Key …`, the partner API's own
authentication: a revoked key or a terminated partner is refused). Staff without a partner link
get 403. Another partner's statement, line or file answers 404, never 403, so that its existence
is not told.
"""

from __future__ import annotations

from datetime import date
from functools import wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from rest_framework import exceptions as api_exceptions

from lending.reconciliation.models import BreakStatus
from lending.settlement import statements as statement_life
from lending.settlement.models import RunState, SettlementRun, Statement, StatementLine
from partners import selectors as partner_selectors
from partners import services as partner_services
from partners.auth import PartnerApiKeyAuthentication
from partners.models import InboundFile
from reports import exports
from reports import selectors as staff_selectors
from reports.selectors import partner as selectors
from reports.views import break_table, line_drilldown_table, statement_table

PAGE = 100
SNAPSHOT_SHOWN = 200  # rows of the snapshot on the page; the downloads have them all


def _api_key_user(request):
    """The partner user of an `Authorization: Api-Key …` header (None without one); a bad key,
    a revoked one or a terminated partner: 403; key guessing: 429."""
    try:
        found = PartnerApiKeyAuthentication().authenticate(request)
    except api_exceptions.Throttled as exc:
        raise _TooMany(str(exc.detail)) from exc
    except api_exceptions.APIException as exc:
        raise PermissionDenied(str(exc.detail)) from exc
    return found[0] if found else None


class _TooMany(Exception):
    pass


def partner_page(view):
    """A partner user's page: `request.partner` is its partner; anyone else is refused."""
    @wraps(view)
    def guarded(request, *args, **kwargs):
        try:
            key_user = _api_key_user(request) if request.META.get("HTTP_AUTHORIZATION") \
                else None
        except _TooMany as exc:
            return HttpResponse(str(exc), status=429, content_type="text/plain")
        user = key_user or request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("reports:partner-login"))
        partner = partner_selectors.partner_of_user(user=user)
        if partner is None:  # staff, or a user acting for no partner
            raise PermissionDenied("this user does not act for a partner")
        reason = partner_services.partner_api_refusal(partner=partner)
        if reason is not None:  # a terminated partner
            raise PermissionDenied(reason)
        request.partner = partner
        request.partner_user = user  # who acts (a key's user or the logged-in one)
        return view(request, *args, **kwargs)
    return guarded


class PartnerLoginView(LoginView):
    template_name = "reports/partner/login.html"

    def get_default_redirect_url(self):
        return reverse("reports:partner-home")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **admin.site.each_context(self.request),
                "title": "Partner log in"}


def partner_login(request):
    """The partner users' login form (GET shows it, POST logs in)."""
    return PartnerLoginView.as_view()(request)


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, "partner": request.partner,
            "is_nav_sidebar_enabled": False, **extra}


class DateRange(forms.Form):
    """`from` and `to` (inclusive) on the business date."""


DateRange.base_fields["from"] = forms.DateField(
    required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
DateRange.base_fields["to"] = forms.DateField(
    required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


class BreakRange(DateRange):
    status = forms.ChoiceField(choices=[("", "any status"), *BreakStatus.choices],
                               required=False)


def _range(request, form_class=DateRange) -> tuple[forms.Form, dict]:
    form = form_class(request.GET or None)
    if not form.is_bound:
        return form_class(), {}
    if not form.is_valid():
        raise Http404("bad filter: " + "; ".join(f"{k}: {' '.join(v)}"
                                                  for k, v in form.errors.items()))
    c = form.cleaned_data
    params = {"date_from": c.get("from"), "date_to": c.get("to")}
    if "status" in c:
        params["status"] = c["status"] or None
    return form, params


def _query(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _page(request, qs):
    return Paginator(qs, PAGE).get_page(request.GET.get("page"))


@partner_page
def home(request):
    statements = selectors.partner_statement_list(partner=request.partner)[:10]
    breaks_open = selectors.partner_break_list(partner=request.partner,
                                               status=BreakStatus.OPEN).count()
    files = selectors.partner_file_list(partner=request.partner)[:10]
    return render(request, "reports/partner/home.html", _context(
        request, f"{request.partner.code}: reconciliation", statements=statements,
        breaks_open=breaks_open, files=files))


# --- Statements -----------------------------------------------------------------------------

@partner_page
def statement_list(request):
    form, params = _range(request)
    qs = selectors.partner_statement_list(partner=request.partner, **params)
    return render(request, "reports/partner/statement_list.html", _context(
        request, "Statements", form=form, page=_page(request, qs), query=_query(request)))


@partner_page
def statement_list_export(request, fmt: str):
    _, params = _range(request)
    rows = ((s.business_date, s.run.partner.code, s.counterparty.code, s.line_count,
             s.lines_total, s.net_amount, s.currency, s.status, s.due_date or "",
             s.payment_reference)
            for s in selectors.partner_statement_list(partner=request.partner, **params)
            .iterator())
    return exports.download(exports.Table(
        f"statements-{request.partner.code}",
        ["business_date", "platform", "counterparty", "lines", "lines_total", "net_amount",
         "currency", "status", "due_date", "payment_reference"], rows,
        money=frozenset({"lines_total", "net_amount"}), sheet="Statements"), fmt)


def _statement(request, statement_id: int):
    try:
        return selectors.partner_statement_detail(partner=request.partner,
                                                  statement_id=statement_id)
    except Statement.DoesNotExist as exc:
        raise Http404("no such statement") from exc


@partner_page
def statement_detail(request, statement_id: int):
    view = _statement(request, statement_id)
    st = view.statement
    return render(request, "reports/partner/statement_detail.html", _context(
        request, f"Statement {st.counterparty.code} {st.business_date:%Y-%m-%d}", view=view,
        st=st))


def _act_on_statement(request, statement_id: int, action: str, act) -> HttpResponse:
    """GET: the page that asks (confirm, or dispute with a reason); POST: do it, then back to
    the statement's page with what happened. Another partner's statement: 404."""
    try:
        st = selectors.partner_statement_get(partner=request.partner,
                                             statement_id=statement_id)
    except Statement.DoesNotExist as exc:
        raise Http404("no such statement") from exc
    if request.method == "POST":
        try:
            st = act(st)
        except statement_life.StatementError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Statement {st.payment_reference} is {st.status}.")
        return HttpResponseRedirect(reverse("reports:partner-statement-detail",
                                            args=[statement_id]))
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "reports/partner/statement_action.html", _context(
        request, f"{action.capitalize()} statement {st.payment_reference}", st=st,
        action=action))


@partner_page
def statement_confirm(request, statement_id: int):
    """The partner confirms its statement (ISSUED or DISPUTED → CONFIRMED)."""
    return _act_on_statement(request, statement_id, "confirm",
                             lambda st: statement_life.statement_confirm(
                                 statement=st, by=request.partner_user))


@partner_page
def statement_dispute(request, statement_id: int):
    """The partner disputes its statement with a reason (ISSUED → DISPUTED)."""
    return _act_on_statement(request, statement_id, "dispute",
                             lambda st: statement_life.statement_dispute(
                                 statement=st, by=request.partner_user,
                                 reason=request.POST.get("reason", "")))


@partner_page
def statement_export(request, statement_id: int, fmt: str):
    return exports.download(statement_table(_statement(request, statement_id)), fmt)


def _line(request, line_id: int, page: int = 1, page_size: int = staff_selectors.DRILL_PAGE):
    try:
        return selectors.partner_line_drilldown(partner=request.partner, line_id=line_id,
                                                page=page, page_size=page_size)
    except StatementLine.DoesNotExist as exc:
        raise Http404("no such statement line") from exc


@partner_page
def line_detail(request, line_id: int):
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    drill = _line(request, line_id, page)
    pages = max((drill.row_count + staff_selectors.DRILL_PAGE - 1)
                // staff_selectors.DRILL_PAGE, 1)
    st = drill.line.statement
    return render(request, "reports/partner/line_detail.html", _context(
        request, f"{drill.line.line_type} — {st.counterparty.code} {st.business_date:%Y-%m-%d}",
        drill=drill, st=st, page=page, pages=pages,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page < pages else None))


@partner_page
def line_export(request, line_id: int, fmt: str):
    return exports.download(line_drilldown_table(line_id, _line(request, line_id,
                                                                page_size=10**9)), fmt)


# --- Breaks, files, snapshot ----------------------------------------------------------------

@partner_page
def break_list(request):
    form, params = _range(request, BreakRange)
    qs = selectors.partner_break_list(partner=request.partner, **params)
    return render(request, "reports/partner/break_list.html", _context(
        request, "Breaks", form=form, page=_page(request, qs), query=_query(request)))


@partner_page
def break_list_export(request, fmt: str):
    _, params = _range(request, BreakRange)
    qs = selectors.partner_break_list(partner=request.partner, **params)
    return exports.download(break_table(qs, f"breaks-{request.partner.code}"), fmt)


FILE_HEADER = ["business_date", "name", "kind", "status", "rows", "amount_total",
               "staged_count", "staged_amount", "quarantined_count", "quarantined_amount",
               "received_at", "error"]


@partner_page
def file_list(request):
    form, params = _range(request)
    qs = selectors.partner_file_list(partner=request.partner, **params)
    return render(request, "reports/partner/file_list.html", _context(
        request, "Files", form=form, page=_page(request, qs), query=_query(request)))


@partner_page
def file_list_export(request, fmt: str):
    _, params = _range(request)
    rows = ((f.business_date, f.name, f.kind, f.status, f.rows, f.amount_total, f.staged_count,
             f.staged_amount, f.quarantined_count, f.quarantined_amount, f.received_at, f.error)
            for f in selectors.partner_file_list(partner=request.partner, **params).iterator())
    return exports.download(exports.Table(
        f"files-{request.partner.code}", FILE_HEADER, rows,
        money=frozenset({"amount_total", "staged_amount", "quarantined_amount"}),
        sheet="Files"), fmt)


def _file(request, file_id: int) -> selectors.FileView:
    try:
        return selectors.partner_file_detail(partner=request.partner, file_id=file_id)
    except InboundFile.DoesNotExist as exc:
        raise Http404("no such file") from exc


@partner_page
def file_detail(request, file_id: int):
    view = _file(request, file_id)
    return render(request, "reports/partner/file_detail.html", _context(
        request, f"File {view.file.name}", view=view, file=view.file,
        page=_page(request, view.quarantined)))


@partner_page
def file_export(request, file_id: int, fmt: str):
    view = _file(request, file_id)
    rows = ((view.file.name, q.row_no, q.stage, q.column, q.reason, q.message, q.amount, q.raw,
             q.resolved, q.resolution_note, q.resolved_at or "")
            for q in view.quarantined.iterator())
    return exports.download(exports.Table(
        f"quarantined-{view.file.name}", ["file", "row_no", "stage", "column", "reason",
                                          "message", "amount", "raw", "resolved",
                                          "resolution_note", "resolved_at"], rows,
        money=frozenset({"amount"}), sheet="Quarantined rows"), fmt)


class SnapshotDate(forms.Form):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _snapshot_date(request) -> tuple[SnapshotDate, date | None]:
    """The date asked for, else the partner's latest DONE business date (None: none yet)."""
    form = SnapshotDate(request.GET or None)
    if form.is_bound and not form.is_valid():
        raise Http404("bad date")
    asked = form.cleaned_data.get("date") if form.is_bound else None
    if asked:
        return form, asked
    latest = (SettlementRun.objects.filter(partner=request.partner, state=RunState.DONE)
              .order_by("-business_date").values_list("business_date", flat=True).first())
    return SnapshotDate(initial={"date": latest}), latest


@partner_page
def snapshot(request):
    form, day = _snapshot_date(request)
    rows, count, header = [], 0, []
    if day is not None:
        snap = selectors.partner_snapshot(partner=request.partner, business_date=day)
        header = snap.header
        for row in snap.rows:
            count += 1
            if count <= SNAPSHOT_SHOWN:
                rows.append(row)
    return render(request, "reports/partner/snapshot.html", _context(
        request, "Loan snapshot", form=form, day=day, header=header, rows=rows, count=count,
        shown=SNAPSHOT_SHOWN))


@partner_page
def snapshot_export(request, fmt: str):
    _, day = _snapshot_date(request)
    if day is None:
        raise Http404("no settled day yet")
    snap = selectors.partner_snapshot(partner=request.partner, business_date=day)
    return exports.download(exports.Table(
        f"loan-snapshot-{request.partner.code}-{day}", snap.header, snap.rows,
        money=selectors.snapshot_money_columns(snap.header), sheet="Loan snapshot"), fmt)
