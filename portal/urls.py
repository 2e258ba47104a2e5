from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("portal.site_urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("simulators.urls")))
