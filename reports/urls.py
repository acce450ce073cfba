from django.urls import path

from reports import views

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
]
