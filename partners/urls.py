from django.urls import path

from partners import apis

urlpatterns = [
    path("files/", apis.InboundFileListApi.as_view(), name="partner-file-list"),
    path("files/<int:pk>/", apis.InboundFileDetailApi.as_view(), name="partner-file-detail"),
    path("files/<int:pk>/quarantined-rows/", apis.QuarantinedRowListApi.as_view(),
         name="partner-file-quarantined-rows"),
]
