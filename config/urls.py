from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("api/<str:version>/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/<str:version>/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"),
         name="api-docs"),
    path("api/<str:version>/redoc/", SpectacularRedocView.as_view(url_name="api-schema"),
         name="api-redoc"),
    path("api/<str:version>/", include("lending.intake.urls")),
    path("api/<str:version>/", include("partners.urls")),
    path("api/<str:version>/", include("lending.reconciliation.urls")),
    path("api/<str:version>/", include("lending.settlement.urls")),
]

# A URL under /api/ that matches no route (e.g. /api/v1/files/-1/) answers JSON like the API's
# own 404s, as the schema says; every other path keeps Django's page.
handler404 = "config.errors.not_found"
