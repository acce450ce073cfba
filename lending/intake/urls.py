from django.urls import path

from lending.intake import apis

urlpatterns = [
    path("files/upload/", apis.PartnerFileUploadApi.as_view(), name="partner-file-upload"),
]
