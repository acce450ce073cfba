from django.urls import path

from reports import partner_views, views

app_name = "reports"


def _exports(route: str, view, name: str) -> list:
    """`<route>export.csv` and `<route>export.xlsx`: one view, the format as its argument."""
    return [path(f"{route}export.{fmt}", view, {"fmt": fmt}, name=f"{name}-{fmt}")
            for fmt in ("csv", "xlsx")]


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("statements/", views.statement_list, name="statement-list"),
    *_exports("statements/", views.statement_list_export, "statement-list"),
    path("statements/<int:statement_id>/", views.statement_detail, name="statement-detail"),
    path("counterparties/<str:code>/<str:business_date>/", views.counterparty_day,
         name="counterparty-day"),
    *_exports("statements/<int:statement_id>/", views.statement_export, "statement"),
    path("statement-lines/<int:line_id>/", views.line_drilldown, name="line-drilldown"),
    *_exports("statement-lines/<int:line_id>/", views.line_drilldown_export,
              "line-drilldown"),
    path("journal-entries/<int:entry_id>/", views.journal_entry_detail,
         name="journal-entry-detail"),
    path("journal-lines/<int:line_id>/", views.journal_line_movements,
         name="journal-line-movements"),
    path("loans/<int:loan_id>/", views.loan_detail, name="loan-detail"),
    path("breaks/", views.break_list, name="break-list"),
    *_exports("breaks/", views.break_list_export, "break-list"),
    path("breaks/triage/", views.break_triage, name="break-triage"),
    # partner reconciliation pages: a partner user's own data only (reports.partner_views)
    path("partner/login/", partner_views.partner_login, name="partner-login"),
    path("partner/", partner_views.home, name="partner-home"),
    path("partner/statements/", partner_views.statement_list, name="partner-statement-list"),
    *_exports("partner/statements/", partner_views.statement_list_export,
              "partner-statement-list"),
    path("partner/statements/<int:statement_id>/", partner_views.statement_detail,
         name="partner-statement-detail"),
    path("partner/statements/<int:statement_id>/confirm/", partner_views.statement_confirm,
         name="partner-statement-confirm"),
    path("partner/statements/<int:statement_id>/dispute/", partner_views.statement_dispute,
         name="partner-statement-dispute"),
    *_exports("partner/statements/<int:statement_id>/", partner_views.statement_export,
              "partner-statement"),
    path("partner/statement-lines/<int:line_id>/", partner_views.line_detail,
         name="partner-line-detail"),
    *_exports("partner/statement-lines/<int:line_id>/", partner_views.line_export,
              "partner-line"),
    path("partner/breaks/", partner_views.break_list, name="partner-break-list"),
    *_exports("partner/breaks/", partner_views.break_list_export, "partner-break-list"),
    path("partner/files/", partner_views.file_list, name="partner-file-list"),
    *_exports("partner/files/", partner_views.file_list_export, "partner-file-list"),
    path("partner/files/<int:file_id>/", partner_views.file_detail,
         name="partner-file-detail"),
    *_exports("partner/files/<int:file_id>/", partner_views.file_export, "partner-file"),
    path("partner/snapshot/", partner_views.snapshot, name="partner-snapshot"),
    *_exports("partner/snapshot/", partner_views.snapshot_export, "partner-snapshot"),
]
