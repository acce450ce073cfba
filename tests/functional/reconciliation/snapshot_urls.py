"""The project's URLs plus the partner API's loan snapshot route, which belongs in
lending/reconciliation/urls.py (`snapshot/`, name `partner-loan-snapshot`): until it is there,
the snapshot's tests route it here."""

from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from lending.reconciliation import apis

urlpatterns = [
    path("api/<str:version>/snapshot/", apis.LoanSnapshotApi.as_view(),
         name="partner-loan-snapshot"),
    *project_urlpatterns,
]
handler404 = "config.errors.not_found"
