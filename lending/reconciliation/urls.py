from django.urls import path

from lending.reconciliation import apis

urlpatterns = [
    path("statements/", apis.StatementListApi.as_view(), name="partner-statement-list"),
    path("statements/<int:pk>/", apis.StatementDetailApi.as_view(),
         name="partner-statement-detail"),
    path("breaks/", apis.BreakListApi.as_view(), name="partner-break-list"),
]
