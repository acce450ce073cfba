"""Staff report pages: parse the request, call one selector, render (staff only)."""

from __future__ import annotations

from datetime import date
from functools import wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ledger.models import JournalEntry, JournalLine
from lending.admin.settlement import may_record_payments
from lending.models import Loan
from lending.reconciliation import services as recon_services
from lending.reconciliation.models import Break, BreakField, BreakKind, BreakStatus
from lending.settlement import statements as statement_life
from lending.settlement.models import Statement, StatementLine
from partners.models import Partner
from reports import charts, dashboard_export, exports, page_downloads, selectors, tasks

BREAKS_PAGE = 200


def staff_page(permission: str):
    """Staff holding `permission` only (docs/permissions.md): a visitor not logged in goes to
    the login page; anyone else without it (a partner user, another role, an API client with
    a partner's key) gets 403."""
    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if request.META.get("HTTP_AUTHORIZATION"):  # an API key opens no staff page
                    raise PermissionDenied
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not (user.is_active and user.is_staff and user.has_perm(permission)):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return guarded
    return decorate


RUNS, STATEMENTS, MOVEMENTS, LOANS, BREAKS, JOURNALS = (
    "lending.view_settlementrun", "lending.view_statement", "lending.view_movement",
    "lending.view_loan", "lending.view_break", "ledger.view_journalentry")


def _context(request, title: str, **extra) -> dict:
    """The admin's context (site header, user tools) so the pages have the admin's look."""
    return {**admin.site.each_context(request), "title": title,
            "is_nav_sidebar_enabled": False, **extra}  # the reports use the page's width


@staff_page(RUNS)
def dashboard(request):
    board = selectors.dashboard_get()
    if board.portfolio_pending:  # a newly settled day: its snapshot is made by a worker
        transaction.on_commit(tasks.portfolio_snapshot.delay)
    if request.GET.get("download"):  # ?download=xlsx (a sheet per table) or csv&table=…
        return dashboard_export.dashboard_download(board, request.GET["download"],
                                                   request.GET.get("table"))
    trends = board.trends
    charts_html = [
        charts.line_chart(trends["collections"], title="Collections", css_id="trend-collections"),
        charts.line_chart(trends["net"], title="Net settlement (platforms pay +)",
                          css_id="trend-net"),
        charts.line_chart(trends["breaks"], title="Breaks seen", css_id="trend-breaks"),
        charts.line_chart(trends["dpd30"], title="DPD 30+ ratio (% of principal)",
                          css_id="trend-dpd30"),
    ]
    return render(request, "reports/dashboard.html", _context(
        request, "Morning dashboard", board=board, charts=charts_html,
        age_buckets=list(selectors.AGE_BUCKETS), components=selectors.COMPONENTS))


class StatementFilter(forms.Form):
    counterparty = forms.ModelChoiceField(Partner.objects.order_by("code"), required=False)
    business_date = forms.DateField(required=False)


def _statement_filter(request) -> tuple[StatementFilter, dict]:
    form = StatementFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, {}
    data = form.cleaned_data if form.is_bound else {}
    return form, {"counterparty_id": data["counterparty"].pk if data.get("counterparty")
                  else None, "business_date": data.get("business_date")}


@staff_page(STATEMENTS)
def statement_list(request):
    form, params = _statement_filter(request)
    page = Paginator(selectors.statement_list(**params), 100).get_page(request.GET.get("page"))
    return render(request, "reports/statement_list.html", _context(
        request, "Statements", form=form, page=page, query=request.GET.urlencode()))


def statement_list_table(params: dict) -> exports.Table:
    rows = ((s.business_date, s.counterparty.code, s.counterparty.legal_name,
             s.run.partner.code, s.run.state, s.line_count, s.lines_total, s.net_amount,
             s.currency, s.status, s.due_date or "", s.payment_reference)
            for s in selectors.statement_list(**params).iterator())
    return exports.Table(
        "statements", ["business_date", "counterparty", "counterparty_name", "platform",
                       "run_state", "lines", "lines_total", "net_amount", "currency", "status",
                       "due_date", "payment_reference"], rows,
        money=frozenset({"lines_total", "net_amount"}), sheet="Statements")


@staff_page(STATEMENTS)
def statement_list_export(request, fmt: str):
    _, params = _statement_filter(request)
    return exports.download(statement_list_table(params), fmt)


def _statement(statement_id: int):
    try:
        return selectors.statement_detail(statement_id=statement_id)
    except Statement.DoesNotExist as exc:
        raise Http404("no such statement") from exc


@staff_page(STATEMENTS)
def statement_detail(request, statement_id: int):
    view = _statement(statement_id)
    st = view.statement
    return render(request, "reports/statement_detail.html", _context(
        request, f"Statement {st.counterparty.code} {st.business_date}", view=view, st=st,
        open_statuses=list(statement_life.OPEN),
        can_record_payment=may_record_payments(request)))


@staff_page(STATEMENTS)
def counterparty_day(request, code: str, business_date: str):
    try:
        day = selectors.counterparty_day(counterparty_code=code,
                                         business_date=date.fromisoformat(business_date))
    except (Partner.DoesNotExist, ValueError) as exc:
        raise Http404("no such counterparty or date") from exc
    if request.GET.get("download"):  # ?download=xlsx (a sheet per table) or csv&table=…
        return page_downloads.download(page_downloads.counterparty_day_tables(day),
                                       request.GET["download"], request.GET.get("table"),
                                       f"counterparty-{day.counterparty.code}-"
                                       f"{day.business_date}")
    return render(request, "reports/counterparty_day.html", _context(
        request, f"Statements of {day.counterparty.code} on {day.business_date:%Y-%m-%d}",
        day=day))


def statement_table(view: selectors.StatementView) -> exports.Table:
    """A statement's lines by program and component, then its total (Σ lines)."""
    st = view.statement
    rows = [(st.business_date, st.counterparty.code, st.run.partner.code,
             r["program"].code if r["program"] else "", r["program"].name if r["program"] else "",
             r["line"].line_type, r["component"], r["line"].description, r["line"].amount)
            for r in view.lines]
    rows.append((st.business_date, st.counterparty.code, st.run.partner.code, "", "", "TOTAL",
                 "", "", view.total))
    return exports.Table(
        f"statement-{st.counterparty.code}-{st.business_date}",
        ["business_date", "counterparty", "platform", "program_code", "program", "line_type",
         "component", "description", "amount"], rows, money=frozenset({"amount"}),
        sheet="Statement")


@staff_page(STATEMENTS)
def statement_export(request, statement_id: int, fmt: str):
    return exports.download(statement_table(_statement(statement_id)), fmt)


def _drill(line_id: int, page: int = 1, page_size: int = selectors.DRILL_PAGE):
    try:
        return selectors.line_drilldown(line_id=line_id, page=page, page_size=page_size)
    except StatementLine.DoesNotExist as exc:
        raise Http404("no such statement line") from exc


@staff_page(MOVEMENTS)
def line_drilldown(request, line_id: int):
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    drill = _drill(line_id, page)
    pages = max((drill.row_count + selectors.DRILL_PAGE - 1) // selectors.DRILL_PAGE, 1)
    st = drill.line.statement
    return render(request, "reports/line_drilldown.html", _context(
        request, f"{drill.line.line_type} — {st.counterparty.code} {st.business_date}",
        drill=drill, st=st, page=page, pages=pages,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page < pages else None))


def line_drilldown_table(line_id: int, drill: selectors.LineDrill) -> exports.Table:
    """Every movement row behind a statement line (not paged) with each funder's share."""
    rows = [(r["loan_no"], r["txn_no"], r["event"], r["component"], *r["funders"], r["amount"])
            for r in drill.rows]
    return exports.Table(
        f"statement-line-{line_id}",
        ["loan_no", "txn_no", "event", "component", *drill.funders, "line_amount"], rows,
        money=frozenset({*drill.funders, "line_amount"}), sheet="Statement line")


@staff_page(MOVEMENTS)
def line_drilldown_export(request, line_id: int, fmt: str):
    return exports.download(line_drilldown_table(line_id, _drill(line_id, 1, page_size=10**9)),
                            fmt)


@staff_page(JOURNALS)
def journal_entry_detail(request, entry_id: int):
    try:
        view = selectors.journal_entry_detail(entry_id=entry_id)
    except JournalEntry.DoesNotExist as exc:
        raise Http404("no such journal entry") from exc
    if request.GET.get("download"):  # ?download=xlsx or csv
        return page_downloads.download(page_downloads.entry_tables(view),
                                       request.GET["download"], request.GET.get("table"),
                                       f"journal-entry-{view.entry.pk}")
    return render(request, "reports/journal_entry.html", _context(
        request, f"Journal entry #{view.entry.pk} {view.entry.purpose}", view=view,
        entry=view.entry))


@staff_page(JOURNALS)
def journal_line_movements(request, line_id: int):
    download = request.GET.get("download")  # ?download=xlsx or csv: every movement
    try:
        line, rows = selectors.journal_line_movements(
            line_id=line_id, **({"limit": 10**9} if download else {}))
    except JournalLine.DoesNotExist as exc:
        raise Http404("no such journal line") from exc
    if download:
        return page_downloads.download(page_downloads.journal_line_tables(line, rows), download,
                                       request.GET.get("table"), f"journal-line-{line.pk}")
    return render(request, "reports/journal_line.html", _context(
        request, f"Journal line #{line.pk}: its movements", line=line, rows=rows,
        limit=selectors.DRILL_PAGE))


@staff_page(LOANS)
def loan_detail(request, loan_id: int):
    try:
        view = selectors.loan_detail(loan_id=loan_id)
    except Loan.DoesNotExist as exc:
        raise Http404("no such loan") from exc
    if request.GET.get("download"):  # ?download=xlsx (a sheet per table) or csv&table=…
        return page_downloads.download(page_downloads.loan_tables(view), request.GET["download"],
                                       request.GET.get("table"),
                                       f"loan-{view.loan.partner.code}-{view.loan.loan_no}")
    return render(request, "reports/loan_detail.html", _context(
        request, f"Loan {view.loan.partner.code} {view.loan.loan_no}", view=view,
        loan=view.loan))


class BreakFilter(forms.Form):
    status = forms.ChoiceField(choices=[("", "any status"), *BreakStatus.choices],
                               required=False, initial=BreakStatus.OPEN)
    partner = forms.ModelChoiceField(Partner.objects.order_by("code"), required=False)
    kind = forms.ChoiceField(choices=[("", "any kind"), *BreakKind.choices], required=False)
    field = forms.ChoiceField(label="Component", required=False, choices=[
        ("", "any component"), *[(v, label) for v, label in BreakField.choices if v]])
    owner = forms.ChoiceField(required=False, choices=[("", "anyone's"), ("none", "no owner"),
                                                       ("me", "mine")])
    age = forms.ChoiceField(choices=[("", "any age"), *[(a, f"{a} days")
                                                        for a in selectors.AGE_BUCKETS]],
                            required=False)


def _break_filter(request) -> tuple[BreakFilter, dict]:
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = BreakStatus.OPEN  # open by default
    form = BreakFilter(data)
    if not form.is_valid():
        return form, {"status": BreakStatus.OPEN}
    c = form.cleaned_data
    return form, {"status": c["status"] or None,
                  "partner_id": c["partner"].pk if c["partner"] else None,
                  "kind": c["kind"] or None, "age": c["age"] or None,
                  "field": c["field"] or None, "unowned": c["owner"] == "none",
                  "owner_id": request.user.pk if c["owner"] == "me" else None}


@staff_page(BREAKS)
def break_list(request):
    form, params = _break_filter(request)
    qs = selectors.break_list(**params)
    page = Paginator(qs, BREAKS_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    can_triage = request.user.has_perm(WORK_BREAKS)
    return render(request, "reports/break_list.html", _context(
        request, "Breaks", form=form, page=page, query=query.urlencode(),
        triage=BreakTriage(auto_id="triage_%s") if can_triage else None,
        next_url=request.get_full_path()))


BREAK_HEADER = ["partner", "loan_no", "kind", "field", "first_seen", "last_seen", "age_days",
                "ours", "theirs", "difference", "status", "owner", "resolution_note",
                "resolved_by", "resolved_at"]


def break_table(qs, name: str = "breaks") -> exports.Table:
    """Breaks as rows (the staff list and a partner's own list)."""
    rows = ((b.partner.code, b.loan_no, b.kind, b.field, b.business_date, b.last_seen_on,
             b.age, b.ours, b.theirs, b.difference if b.difference is not None else "",
             b.status, b.owner.get_username() if b.owner else "", b.resolution_note,
             b.resolved_by.get_username() if b.resolved_by else "", b.resolved_at or "")
            for b in qs.iterator(chunk_size=2000))
    return exports.Table(name, BREAK_HEADER, rows, money=frozenset({"difference"}),
                         sheet="Breaks")


@staff_page(BREAKS)
def break_list_export(request, fmt: str):
    _, params = _break_filter(request)
    return exports.download(break_table(selectors.break_list(**params)), fmt)


WORK_BREAKS = "controls.work_breaks"


def break_owners():
    """Who may own a break: active staff who may work breaks (the operator role)."""
    return (get_user_model().objects.filter(is_active=True, is_staff=True).filter(
        Q(is_superuser=True) | Q(groups__permissions__codename="work_breaks")
        | Q(user_permissions__codename="work_breaks")).distinct().order_by("username"))


class BreakTriage(forms.Form):
    """Bulk triage of the breaks ticked on the list: assign them to an owner, or resolve them
    with a note (stored with who and when)."""

    action = forms.ChoiceField(choices=[("assign", "Assign to"), ("resolve", "Resolve")])
    breaks = forms.ModelMultipleChoiceField(
        queryset=Break.objects.all())  # a break closed meanwhile is left as it is
    owner = forms.ModelChoiceField(queryset=None, required=False)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = break_owners()

    def clean(self):
        c = super().clean()
        if c.get("action") == "assign" and not c.get("owner"):
            self.add_error("owner", "choose the owner to assign the breaks to")
        if c.get("action") == "resolve" and not (c.get("note") or "").strip():
            self.add_error("note", "a resolution needs a note")
        return c


@staff_page(WORK_BREAKS)
def break_triage(request):
    """POST only: assign or resolve the ticked open breaks, then back to the list (filters
    kept). A write-off needs an approver: it is requested from the admin's break list."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    back = request.POST.get("next") or reverse("reports:break-list")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = reverse("reports:break-list")
    form = BreakTriage(request.POST)
    if not form.is_valid():
        for field_name, errors in form.errors.items():
            messages.error(request, f"{field_name}: {' '.join(errors)}")
        return HttpResponseRedirect(back)
    c = form.cleaned_data
    if c["action"] == "assign":
        done = recon_services.breaks_assign(breaks=c["breaks"], owner=c["owner"])
        messages.success(request, f"{done} open break(s) assigned to {c['owner'].get_username()}.")
    else:
        done = recon_services.breaks_resolve(breaks=c["breaks"], note=c["note"],
                                             by=request.user)
        messages.success(request, f"{done} break(s) resolved.")
    return HttpResponseRedirect(back)
