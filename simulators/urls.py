from django.urls import include, path

urlpatterns = [
    path("paytrace/", include("simulators.paytrace.urls")),
    path("sage300/", include("simulators.sage300.urls")),
    path("x3/", include("simulators.x3.urls")),
    path("sagepro/", include("simulators.sagepro.urls")),
]
