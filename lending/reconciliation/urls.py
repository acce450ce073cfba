from django.urls import path

from lending.reconciliation import apis

urlpatterns = [
    path("breaks/", apis.BreakListApi.as_view(), name="partner-break-list"),
    path("snapshot/", apis.LoanSnapshotApi.as_view(), name="partner-loan-snapshot"),
]
