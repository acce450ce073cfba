from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("statements/", views.statement_list, name="statement-list"),
    path("statements/export.csv", views.statement_list_csv, name="statement-list-csv"),
    path("statements/<int:statement_id>/", views.statement_detail, name="statement-detail"),
    path("counterparties/<str:code>/<str:business_date>/", views.counterparty_day,
         name="counterparty-day"),
    path("statements/<int:statement_id>/export.csv", views.statement_csv,
         name="statement-csv"),
    path("statement-lines/<int:line_id>/", views.line_drilldown, name="line-drilldown"),
    path("statement-lines/<int:line_id>/export.csv", views.line_drilldown_csv,
         name="line-drilldown-csv"),
    path("journal-entries/<int:entry_id>/", views.journal_entry_detail,
         name="journal-entry-detail"),
    path("journal-lines/<int:line_id>/", views.journal_line_movements,
         name="journal-line-movements"),
    path("loans/<int:loan_id>/", views.loan_detail, name="loan-detail"),
    path("breaks/", views.break_list, name="break-list"),
    path("breaks/export.csv", views.break_list_csv, name="break-list-csv"),
]
