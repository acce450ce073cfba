from django.urls import path

from lending.settlement import apis

urlpatterns = [
    path("statements/", apis.StatementListApi.as_view(), name="partner-statement-list"),
    path("statements/<int:pk>/", apis.StatementDetailApi.as_view(),
         name="partner-statement-detail"),
    path("statements/<int:pk>/confirm/", apis.StatementConfirmApi.as_view(),
         name="partner-statement-confirm"),
    path("statements/<int:pk>/dispute/", apis.StatementDisputeApi.as_view(),
         name="partner-statement-dispute"),
    path("statement-lines/<int:pk>/movements/", apis.StatementLineMovementsApi.as_view(),
         name="partner-statement-line-movements"),
]
