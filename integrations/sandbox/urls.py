from django.urls import include, path

urlpatterns = [
    path("paytrace/", include("integrations.sandbox.paytrace.urls")),
    path("sage300/", include("integrations.sandbox.sage300.urls")),
    path("x3/", include("integrations.sandbox.x3.urls")),
    path("sagepro/", include("integrations.sandbox.sagepro.urls")),
]
