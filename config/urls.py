from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("api/<str:version>/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/<str:version>/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"),
         name="api-docs"),
    path("api/<str:version>/", include("lending.intake.urls")),
    path("api/<str:version>/", include("partners.urls")),
    path("api/<str:version>/", include("lending.reconciliation.urls")),
    path("api/<str:version>/", include("lending.settlement.urls")),
]
